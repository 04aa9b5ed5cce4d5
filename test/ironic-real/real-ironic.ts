/**
 * Runs Debian's real OpenStack Ironic 21.4 standalone for a test (reference ironic.md §1-2):
 * one `/usr/bin/ironic` process (API + conductor, `rpc_transport = none`), sqlite, noauth, no
 * keystone/neutron/glance, in a temporary state directory. Installed by `scripts/system-deps.sh --ironic`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasRealIronic = existsSync('/usr/bin/ironic') && existsSync('/usr/bin/ironic-dbsync');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The configuration of the reference, with the agent's timings shortened for a fake power interface. */
function ironicConf(state: string, apiPort: number, rpcPort: number, inspector?: InspectorLink): string {
  return `[DEFAULT]
debug = True
log_dir = ${state}/logs
auth_strategy = noauth
rpc_transport = none
host = ironic-lab
state_path = ${state}
tempdir = ${state}/tmp
enabled_hardware_types = ipmi,redfish,manual-management,fake-hardware
enabled_boot_interfaces = pxe,ipxe,fake,redfish-virtual-media
enabled_deploy_interfaces = direct,ramdisk,fake,custom-agent
enabled_inspect_interfaces = no-inspect,fake,redfish,inspector
enabled_management_interfaces = ipmitool,redfish,noop,fake
enabled_power_interfaces = ipmitool,redfish,fake
enabled_network_interfaces = noop,flat
default_network_interface = noop
enabled_console_interfaces = no-console,fake
enabled_raid_interfaces = no-raid,agent,fake
enabled_rescue_interfaces = no-rescue,fake
enabled_storage_interfaces = noop,fake
enabled_vendor_interfaces = no-vendor,ipmitool,fake
enabled_bios_interfaces = no-bios,fake
default_deploy_interface = direct
default_inspect_interface = no-inspect
minimum_memory_warning_only = True
[api]
host_ip = 127.0.0.1
port = ${apiPort}
api_workers = 1
[database]
connection = sqlite:///${state}/ironic.sqlite
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = False
sync_power_state_interval = 30
check_provision_state_interval = 10
heartbeat_interval = 10
deploy_callback_timeout = 600
file_url_allowed_paths = ${state}/files,/var/lib/ironic
[service_catalog]
endpoint_override = http://127.0.0.1:${apiPort}
auth_type = none
[deploy]
http_url = http://127.0.0.1:8088
http_root = ${state}/httpboot
default_boot_mode = bios
fast_track = False
[pxe]
tftp_server = 127.0.0.1
tftp_root = ${state}/tftpboot
tftp_master_path = ${state}/tftp_master
images_path = ${state}/images
instance_master_path = ${state}/master_images
[agent]
command_wait_interval = 2
command_wait_attempts = 30
require_tls = False
deploy_logs_collect = never
# The fake power interface cannot see the agent power the machine off, so do not wait 6 x 5 s for it.
post_deploy_get_power_state_retries = 1
post_deploy_get_power_state_retry_interval = 1
[ipmi]
min_command_interval = 1
[json_rpc]
auth_strategy = noauth
host_ip = 127.0.0.1
port = ${rpcPort}
[inspector]
auth_type = none
endpoint_override = ${inspector?.url ?? 'http://127.0.0.1:5050'}
${
  inspector === undefined
    ? ''
    : `# Ironic refuses a loopback callback URL (inspector.md pitfall 1); the agent maps this one back.
callback_endpoint_override = ${inspector.callbackUrl}
status_check_period = 5`
}
[oslo_concurrency]
lock_path = ${state}/locks
`;
}

export interface RealIronic {
  readonly url: string;
  readonly state: string;
  readonly startMs: number;
  /** A call with noauth and microversion 1.82; returns [status, parsed JSON or undefined]. */
  call(method: string, path: string, body?: unknown): Promise<[number, unknown]>;
  log(): string;
  stop(): Promise<void>;
}

export interface InspectorLink {
  /** Where Ironic reaches inspector. */
  readonly url: string;
  /** What Ironic puts on the kernel line as `ipa-inspection-callback-url` (without `/v1/continue`). */
  readonly callbackUrl: string;
}

export async function startRealIronic(opts: { inspector?: InspectorLink } = {}): Promise<RealIronic> {
  const state = mkdtempSync(join(tmpdir(), 'bmlab-ironic-'));
  for (const d of [
    'logs',
    'tmp',
    'httpboot',
    'tftpboot',
    'tftp_master',
    'images',
    'master_images',
    'files',
    'locks',
  ]) {
    mkdirSync(join(state, d));
  }
  const apiPort = await freePort();
  const conf = join(state, 'ironic.conf');
  writeFileSync(conf, ironicConf(state, apiPort, await freePort(), opts.inspector));
  execFileSync('/usr/bin/ironic-dbsync', ['--config-file', conf, 'create_schema'], { stdio: 'ignore' });

  const t0 = performance.now();
  const out = openSync(join(state, 'logs', 'stdout.log'), 'a');
  const proc: ChildProcess = spawn(
    '/usr/bin/ironic',
    ['--config-file', conf, '--log-file', join(state, 'logs', 'ironic.log')],
    {
      stdio: ['ignore', out, out],
    },
  );
  const url = `http://127.0.0.1:${apiPort}`;
  const headers = { 'Content-Type': 'application/json', 'X-OpenStack-Ironic-API-Version': '1.82' };
  const call = async (method: string, path: string, body?: unknown): Promise<[number, unknown]> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return [res.status, text === '' ? undefined : JSON.parse(text)];
  };

  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };

  // Ready when GET /v1/drivers lists fake-hardware (reference: 1.5-1.65 s on this kind of machine).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ironic exited with ${proc.exitCode}; see ${state}/logs`);
    try {
      const [status, body] = await call('GET', '/v1/drivers');
      if (status === 200 && JSON.stringify(body).includes('fake-hardware')) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`ironic not ready after 60 s; see ${state}/logs`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const startMs = performance.now() - t0;

  return {
    url,
    state,
    startMs,
    call,
    log: () => {
      try {
        return readFileSync(join(state, 'logs', 'ironic.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop: async () => {
      await stop();
      if (!process.env['BMLAB_KEEP_IRONIC_STATE']) rmSync(state, { recursive: true, force: true });
    },
  };
}

export const hasRealInspector =
  existsSync('/usr/bin/ironic-inspector') && existsSync('/usr/bin/ironic-inspector-dbsync');

export interface RealInspector {
  readonly url: string;
  readonly startMs: number;
  stop(): Promise<void>;
}

/**
 * ironic-inspector 11.1 standalone next to Ironic (reference inspector.md §2): noauth, sqlite,
 * `transport_url = fake://` (without it /v1/continue hangs retrying RabbitMQ), noop PXE filter,
 * processed data stored in its database so Ironic can fetch the inventory.
 */
export async function startRealInspector(port: number, ironicUrl: string): Promise<RealInspector> {
  const state = mkdtempSync(join(tmpdir(), 'bmlab-inspector-'));
  const conf = join(state, 'inspector.conf');
  writeFileSync(
    conf,
    `[DEFAULT]
auth_strategy = noauth
standalone = True
transport_url = fake://
listen_address = 127.0.0.1
listen_port = ${port}
host = inspector-lab
timeout = 900
[database]
connection = sqlite:///${state}/inspector.sqlite
[ironic]
auth_type = none
endpoint_override = ${ironicUrl}
[pxe_filter]
driver = noop
[processing]
store_data = database
ramdisk_logs_dir = ${state}/ramdisk-logs
[oslo_policy]
policy_dirs = ${state}/policy.d
`,
  );
  execFileSync('/usr/bin/ironic-inspector-dbsync', ['--config-file', conf, 'upgrade'], { stdio: 'ignore' });
  const t0 = performance.now();
  const out = openSync(join(state, 'stdout.log'), 'a');
  const proc = spawn(
    '/usr/bin/ironic-inspector',
    ['--config-file', conf, '--log-file', join(state, 'inspector.log')],
    {
      stdio: ['ignore', out, out],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      // pitfall 3 of the reference: it may ignore SIGTERM while retrying a broker.
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (!process.env['BMLAB_KEEP_IRONIC_STATE']) rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`ironic-inspector exited with ${proc.exitCode}; see ${state}`);
    try {
      if ((await fetch(`${url}/`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('ironic-inspector not ready after 60 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, startMs: performance.now() - t0, stop };
}

/**
 * The kernel command line the machine would boot with: the `kernel` line of the iPXE script Ironic's
 * ipxe boot interface wrote into the HTTP boot root, with `${mac}` expanded as iPXE does.
 */
export function ipxeKernelLine(state: string, uuid: string, mac: string): string {
  const script = readFileSync(join(state, 'httpboot', uuid, 'config'), 'utf8');
  const line = script.split('\n').find((l) => l.startsWith('kernel ') && l.includes('ipa-'));
  if (line === undefined) throw new Error(`no agent kernel line in the iPXE script:\n${script}`);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the iPXE variable, expanded here
  return line.replace(/\|\|.*$/, '').replaceAll('${mac}', mac);
}
