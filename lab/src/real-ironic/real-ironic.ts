/**
 * Debian's real OpenStack Ironic 21.4 and ironic-inspector 11.1 as a lab component (reference
 * ironic.md, inspector.md): installed by `scripts/system-deps.sh --ironic`, configured standalone
 * with its own files under a state directory (sqlite, noauth, no keystone/neutron/glance/RabbitMQ),
 * started as two processes (`/usr/bin/ironic` all-in-one, `/usr/bin/ironic-inspector`), stopped by
 * the PIDs it recorded. The system-wide /etc/ironic and /etc/ironic-inspector are never used.
 *
 * Inspector's callback is on the lab's provisioning network (`LAB_PROVISIONING_ADDRESS`), because
 * Ironic refuses a loopback one (inspector.md pitfall 1). Inspector itself listens on loopback at
 * the same port; the sim lab's agents reach the provisioning address through the lab's local
 * endpoint (`provisioningToLocal`), as a machine on that network would reach the server.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, StateError } from '../../../common/src/index.ts';
import { inspectorConf, ironicConf } from './config.ts';

/** The lab's server address on its provisioning network (the sim network's next-server). */
export const LAB_PROVISIONING_ADDRESS = '10.77.0.1';

/** A URL on the lab's provisioning server, as the sim lab reaches it: the same port on loopback. */
export function provisioningToLocal(url: string): string {
  return url.replace(`://${LAB_PROVISIONING_ADDRESS}:`, '://127.0.0.1:');
}

export const hasRealIronic = existsSync('/usr/bin/ironic') && existsSync('/usr/bin/ironic-dbsync');
export const hasRealInspector =
  existsSync('/usr/bin/ironic-inspector') && existsSync('/usr/bin/ironic-inspector-dbsync');

/** Refuses, with the reason, a host that cannot run Debian's Ironic packages. */
export function checkRealIronicHost(): void {
  if (!existsSync('/etc/debian_version'))
    throw new ConfigError(
      'ironic',
      "real Ironic is run from Debian's packages (ironic-api, ironic-conductor, ironic-inspector), and this host is not Debian (no /etc/debian_version)",
    );
  if (process.getuid?.() !== 0)
    throw new ConfigError(
      'ironic',
      'real Ironic needs root: its packages are installed with apt-get and its conductor runs ipmitool and writes boot files as root (run with sudo)',
    );
}

/** Installs what is missing (idempotent): `scripts/system-deps.sh --ironic`. */
export function installRealIronic(out: (line: string) => void = () => {}): void {
  checkRealIronicHost();
  if (hasRealIronic && hasRealInspector) return;
  const script = fileURLToPath(new URL('../../../scripts/system-deps.sh', import.meta.url));
  out(`installing Debian's Ironic and ironic-inspector (${script} --ironic)`);
  try {
    execFileSync('bash', [script, '--ironic'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    throw new StateError(
      'not installed',
      ['installed'],
      `installing real Ironic failed: ${String(e.stderr ?? '')}${String(e.stdout ?? '')}`.trim(),
    );
  }
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface RealIronicOptions {
  /** Ironic's own directory (config, sqlite, logs, locks); the lab's `<state>/ironic`. */
  readonly stateDir: string;
  /** The lab's HTTP boot root (`[deploy]http_root`) and where it is served (`[deploy]http_url`). */
  readonly httpRoot: string;
  readonly httpUrl: string;
  /** API port; 0 or omitted = a free one. */
  readonly port?: number;
  /** `[ipmi]min_command_interval` (s), default 1 (Ironic's own default is 5). */
  readonly minCommandInterval?: number;
  readonly automatedClean?: boolean;
  /** `[conductor]deploy_callback_timeout` (s), default 600. */
  readonly deployCallbackTimeout?: number;
  /** `[ipmi]command_retry_timeout` (s), default 60. */
  readonly ipmiRetryTimeout?: number;
  /** Polls for power off after the agent's `standby.power_off`, default 6 (a fake power interface: 1). */
  readonly powerOffPolls?: number;
  /** Start ironic-inspector too (default true when installed); `timeout` is its `[DEFAULT]timeout` (s). */
  readonly inspector?: false | { readonly timeout?: number };
  /** Start the processes in their own session so they outlive this one (`bmlab ironic real up`). */
  readonly detached?: boolean;
}

export interface RealIronic {
  readonly url: string;
  readonly stateDir: string;
  /** Inspector's API, and the callback Ironic hands the ramdisk (without `/v1/continue`). */
  readonly inspector: { readonly url: string; readonly callbackUrl: string } | undefined;
  /** Time from spawning to both answering (ms). */
  readonly startMs: number;
  readonly pids: { readonly ironic: number; readonly inspector?: number };
  /** A call with noauth and microversion 1.82; returns [status, parsed JSON or undefined]. */
  call(method: string, path: string, body?: unknown): Promise<[number, unknown]>;
  log(): string;
  inspectorLog(): string;
  stop(): Promise<void>;
}

/** What `up` leaves in the state directory for `down` and for other commands to find. */
export interface RealIronicRunfile {
  readonly url: string;
  readonly inspectorUrl: string | null;
  readonly callbackUrl: string | null;
  readonly pids: { readonly ironic: number; readonly inspector?: number };
}

export const RUNFILE = 'real-ironic.json';

const DIRS = [
  'logs',
  'tmp',
  'tftpboot',
  'tftp_master',
  'images',
  'master_images',
  'files',
  'locks',
  'policy.d',
];

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Is `pid` alive and running with `conf` on its command line (so it is the process we started)? */
function isOurs(pid: number, conf: string): boolean {
  return readText(`/proc/${pid}/cmdline`).split('\0').includes(conf);
}

/** SIGTERM, then SIGKILL after 10 s (inspector may ignore SIGTERM while retrying a broker, pitfall 3). */
async function terminate(pid: number, conf: string): Promise<void> {
  if (!isOurs(pid, conf)) return;
  process.kill(pid, 'SIGTERM');
  const end = Date.now() + 10_000;
  while (isOurs(pid, conf) && !isZombie(pid)) {
    if (Date.now() > end) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isZombie(pid: number): boolean {
  return /\) Z /.test(readText(`/proc/${pid}/stat`));
}

function spawnService(
  bin: string,
  conf: string,
  logDir: string,
  name: string,
  detached: boolean,
): ChildProcess {
  const out = openSync(join(logDir, `${name}.stdout.log`), 'a');
  const proc = spawn(bin, ['--config-file', conf, '--log-file', join(logDir, `${name}.log`)], {
    stdio: ['ignore', out, out],
    detached,
    // Debian's scripts run under /usr/bin/python3; proxies and CA bundles of the caller do not apply.
    env: { ...process.env, REQUESTS_CA_BUNDLE: '', CURL_CA_BUNDLE: '', no_proxy: '*', NO_PROXY: '*' },
  });
  closeSync(out);
  if (detached) proc.unref();
  return proc;
}

async function waitReady(
  what: string,
  proc: ChildProcess,
  ready: () => Promise<boolean>,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new StateError('exited', ['running'], `${what} exited with ${proc.exitCode}; see ${logFile}`);
    try {
      if (await ready()) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new StateError('starting', ['running'], `${what} not ready after 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Configures and starts Ironic (and inspector) under `o.stateDir`; resolves once Ironic's
 * `GET /v1/drivers` lists the four hardware types and inspector answers `GET /`.
 */
export async function startRealIronic(o: RealIronicOptions): Promise<RealIronic> {
  if (!hasRealIronic)
    throw new StateError(
      'not installed',
      ['installed'],
      "Debian's Ironic is not installed: run scripts/system-deps.sh --ironic (as root)",
    );
  const withInspector = o.inspector !== false && hasRealInspector;
  const inspectorTimeout = (o.inspector === false ? undefined : o.inspector)?.timeout ?? 900;
  const state = resolve(o.stateDir);
  for (const d of DIRS) mkdirSync(join(state, d), { recursive: true });
  // The ipxe boot interface writes boot.ipxe there as it loads.
  mkdirSync(resolve(o.httpRoot), { recursive: true });
  const logs = join(state, 'logs');
  const apiPort = o.port || (await freePort());
  const url = `http://127.0.0.1:${apiPort}`;
  let inspector: RealIronic['inspector'];
  let inspectorPort = 0;
  if (withInspector) {
    inspectorPort = await freePort();
    inspector = {
      url: `http://127.0.0.1:${inspectorPort}`,
      callbackUrl: `http://${LAB_PROVISIONING_ADDRESS}:${inspectorPort}`,
    };
  }
  const conf = join(state, 'ironic.conf');
  writeFileSync(
    conf,
    ironicConf({
      stateDir: state,
      apiPort,
      rpcPort: await freePort(),
      httpRoot: resolve(o.httpRoot),
      httpUrl: o.httpUrl,
      minCommandInterval: o.minCommandInterval ?? 1,
      automatedClean: o.automatedClean ?? false,
      deployCallbackTimeout: o.deployCallbackTimeout ?? 600,
      ipmiRetryTimeout: o.ipmiRetryTimeout ?? 60,
      powerOffPolls: o.powerOffPolls ?? 6,
      ...(inspector === undefined ? {} : { inspector }),
    }),
  );
  const inspectorState = join(state, 'inspector');
  const inspectorConfFile = join(inspectorState, 'inspector.conf');
  if (withInspector) {
    mkdirSync(join(inspectorState, 'policy.d'), { recursive: true });
    writeFileSync(
      inspectorConfFile,
      inspectorConf({
        stateDir: inspectorState,
        port: inspectorPort,
        ironicUrl: url,
        timeout: inspectorTimeout,
      }),
    );
  }
  // A new database each start: the state directory belongs to one lab run.
  rmSync(join(state, 'ironic.sqlite'), { force: true });
  rmSync(join(inspectorState, 'inspector.sqlite'), { force: true });
  await Promise.all([
    createDb(join(state, 'ironic.sqlite'), 'ironic.sqlite', () =>
      run('/usr/bin/ironic-dbsync', ['--config-file', conf, 'create_schema']),
    ),
    withInspector
      ? createDb(join(inspectorState, 'inspector.sqlite'), 'inspector.sqlite', () =>
          run('/usr/bin/ironic-inspector-dbsync', ['--config-file', inspectorConfFile, 'upgrade']),
        )
      : undefined,
  ]);

  const detached = o.detached ?? false;
  const t0 = performance.now();
  const ironicProc = spawnService('/usr/bin/ironic', conf, logs, 'ironic', detached);
  const inspectorProc = withInspector
    ? spawnService('/usr/bin/ironic-inspector', inspectorConfFile, logs, 'inspector', detached)
    : undefined;
  const pids = {
    ironic: ironicProc.pid as number,
    ...(inspectorProc === undefined ? {} : { inspector: inspectorProc.pid as number }),
  };
  // Started for this process only: they must not outlive it, even when it exits without stop().
  const killOnExit = () => {
    for (const p of [inspectorProc, ironicProc]) if (p?.exitCode === null) p.kill('SIGKILL');
  };
  if (!detached) process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (pids.inspector !== undefined) await terminate(pids.inspector, inspectorConfFile);
    await terminate(pids.ironic, conf);
    rmSync(join(state, RUNFILE), { force: true });
  };
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
  try {
    // Ready when GET /v1/drivers lists the hardware types (ironic.md §2: about 1.5 s).
    await Promise.all([
      waitReady(
        'ironic',
        ironicProc,
        async () => {
          const [status, body] = await call('GET', '/v1/drivers');
          return status === 200 && JSON.stringify(body).includes('fake-hardware');
        },
        join(logs, 'ironic.log'),
      ),
      inspectorProc === undefined || inspector === undefined
        ? Promise.resolve()
        : waitReady(
            'ironic-inspector',
            inspectorProc,
            async () => (await fetch(`${inspector.url}/`)).ok,
            join(logs, 'inspector.log'),
          ),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const startMs = performance.now() - t0;
  const runfile: RealIronicRunfile = {
    url,
    inspectorUrl: inspector?.url ?? null,
    callbackUrl: inspector?.callbackUrl ?? null,
    pids,
  };
  writeFileSync(join(state, RUNFILE), JSON.stringify(runfile, null, 2));
  return {
    url,
    stateDir: state,
    inspector,
    startMs,
    pids,
    call,
    log: () => readText(join(logs, 'ironic.log')),
    inspectorLog: () => readText(join(logs, 'inspector.log')),
    stop,
  };
}

/**
 * Where new, empty databases of the installed Ironic and inspector versions are kept: creating the
 * schema runs the migrations (1-2 s, far more on a busy machine), copying the result does not.
 */
function schemaCache(): string | undefined {
  let names: string[];
  try {
    names = readdirSync('/usr/lib/python3/dist-packages');
  } catch {
    return undefined;
  }
  const ironic = names.find((n) => /^ironic-[\d.]+\.(egg|dist)-info$/.test(n));
  const inspector = names.find((n) => /^ironic_inspector-[\d.]+\.(egg|dist)-info$/.test(n));
  if (ironic === undefined) return undefined;
  return join(tmpdir(), 'bmlab-real-ironic-schema', `${ironic}+${inspector ?? 'none'}`);
}

/** A new database at `file`: a copy of the cached empty one, or made by `make` (and then cached). */
async function createDb(file: string, name: string, make: () => Promise<void>): Promise<void> {
  const dir = schemaCache();
  const cached = dir === undefined ? undefined : join(dir, name);
  if (cached !== undefined && existsSync(cached)) {
    copyFileSync(cached, file);
    return;
  }
  await make();
  if (dir === undefined || cached === undefined) return;
  mkdirSync(dir, { recursive: true });
  // Through a rename, so a concurrent start never copies a half-written file.
  const part = `${cached}.${process.pid}.${Date.now()}`;
  copyFileSync(file, part);
  renameSync(part, cached);
}

/** Runs a one-shot tool (the DB schema tools), rejecting with its stderr. */
function run(bin: string, args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.once('error', rej);
    p.once('exit', (code) =>
      code === 0
        ? res()
        : rej(
            new StateError(
              'failed',
              ['ok'],
              `${bin} ${args.join(' ')} exited with ${code}: ${err.slice(-2000)}`,
            ),
          ),
    );
  });
}

/** The Ironic `up` left running in `stateDir`, if its processes are still alive. */
export function readRealIronic(stateDir: string): RealIronicRunfile | undefined {
  const f = join(resolve(stateDir), RUNFILE);
  if (!existsSync(f)) return undefined;
  const r = JSON.parse(readFileSync(f, 'utf8')) as RealIronicRunfile;
  return isOurs(r.pids.ironic, join(resolve(stateDir), 'ironic.conf')) ? r : undefined;
}

/** Stops the Ironic (and inspector) started with `detached` in `stateDir`, by their recorded PIDs. */
export async function stopRealIronic(stateDir: string): Promise<boolean> {
  const state = resolve(stateDir);
  const f = join(state, RUNFILE);
  if (!existsSync(f)) return false;
  const r = JSON.parse(readFileSync(f, 'utf8')) as RealIronicRunfile;
  if (r.pids.inspector !== undefined)
    await terminate(r.pids.inspector, join(state, 'inspector', 'inspector.conf'));
  await terminate(r.pids.ironic, join(state, 'ironic.conf'));
  rmSync(f, { force: true });
  return true;
}

/**
 * The kernel command line a machine would boot with: the `kernel` line of the iPXE script Ironic's
 * ipxe boot interface wrote into the HTTP boot root, with `${mac}` expanded as iPXE does.
 */
export function ipxeKernelLine(httpRoot: string, uuid: string, mac: string): string {
  const script = readFileSync(join(httpRoot, uuid, 'config'), 'utf8');
  const line = script.split('\n').find((l) => l.startsWith('kernel ') && l.includes('ipa-'));
  if (line === undefined)
    throw new StateError('no agent boot', ['agent boot'], `no agent kernel line in:\n${script}`);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the iPXE variable, expanded here
  return line.replace(/\|\|.*$/, '').replaceAll('${mac}', mac);
}
