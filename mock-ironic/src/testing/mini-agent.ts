import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A minimal ironic-python-agent peer for mock-ironic's conductor tests: lookup, heartbeats and the
 * command API with the request/response shapes of the reference (§5). The lab's real emulated agent
 * lives in agent/; this one exists so mock-ironic can be tested without depending on it.
 */
export interface MiniAgentOptions {
  ironicUrl: string;
  mac: string;
  heartbeatMs: number;
  /** How long execute_*_step stays RUNNING. */
  stepMs: number;
  /** Called on standby.power_off: the machine powers itself off. */
  powerOff: () => void;
  /** `ipa-inspection-callback-url` from the kernel command line: post the inventory there first. */
  inspectionCallbackUrl?: string;
}

interface Cmd {
  id: string;
  command_name: string;
  command_params: unknown;
  command_status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  command_error: unknown;
  command_result: unknown;
}

const V = { 'X-OpenStack-Ironic-API-Version': '1.82', 'Content-Type': 'application/json' };

export class MiniAgent {
  readonly commands: Cmd[] = [];
  readonly received: string[] = [];
  lookups = 0;
  heartbeats = 0;
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #token = '';
  #uuid = '';
  readonly #opts: MiniAgentOptions;

  constructor(opts: MiniAgentOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(
        ([status, body]) => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(JSON.stringify({ faultstring: err.message }));
        },
      );
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    void this.#run();
  }

  get callbackUrl(): string {
    const addr = this.#server?.address();
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  async #run(): Promise<void> {
    if (this.#opts.inspectionCallbackUrl) {
      await fetch(this.#opts.inspectionCallbackUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          inventory: {
            interfaces: [{ name: 'eth0', mac_address: this.#opts.mac, ipv4_address: '192.0.2.10' }],
            cpu: { count: 4, architecture: 'x86_64' },
            memory: { physical_mb: 8192, total: 8 * 2 ** 30 },
            disks: [{ name: '/dev/vda', size: 21 * 2 ** 30 }],
            bmc_address: '127.0.0.1',
          },
          boot_interface: `01-${this.#opts.mac.replaceAll(':', '-')}`,
        }),
      }).catch(() => undefined);
    }
    // IPA retries lookup until the conductor expects it (404/409 meanwhile).
    while (!this.#stopped) {
      this.lookups++;
      const res = await fetch(`${this.#opts.ironicUrl}/v1/lookup?addresses=${this.#opts.mac}`, {
        headers: V,
      }).catch(() => undefined);
      if (res?.ok) {
        const body = (await res.json()) as { node: { uuid: string }; config: { agent_token: string } };
        this.#uuid = body.node.uuid;
        this.#token = body.config.agent_token;
        break;
      }
      await new Promise((r) => setTimeout(r, this.#opts.heartbeatMs));
    }
    const beat = async () => {
      if (this.#stopped) return;
      this.heartbeats++;
      await fetch(`${this.#opts.ironicUrl}/v1/heartbeat/${this.#uuid}`, {
        method: 'POST',
        headers: V,
        body: JSON.stringify({
          callback_url: this.callbackUrl,
          agent_token: this.#token,
          agent_version: '9.4.1',
        }),
      }).catch(() => undefined);
      if (!this.#stopped) this.#timer = setTimeout(() => void beat(), this.#opts.heartbeatMs);
    };
    await beat();
  }

  async #handle(req: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/v1/commands/') return [200, { commands: this.commands }];
    if (req.method !== 'POST' || url.pathname !== '/v1/commands/') return [404, { faultstring: 'Not found' }];
    if (url.searchParams.get('agent_token') !== this.#token)
      return [401, { faultstring: 'Invalid agent token' }];
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const { name, params } = JSON.parse(raw) as { name: string; params: Record<string, unknown> };
    this.received.push(name);
    const cmd: Cmd = {
      id: randomUUID(),
      command_name: name.split('.')[1] ?? name,
      command_params: params,
      command_status: 'SUCCEEDED',
      command_error: null,
      command_result: null,
    };
    const hw = { generic_hardware_manager: '1.1' };
    switch (name) {
      case 'deploy.get_deploy_steps':
        cmd.command_result = {
          deploy_steps: {
            GenericHardwareManager: [
              {
                step: 'write_image',
                priority: 0,
                interface: 'deploy',
                reboot_requested: false,
                argsinfo: null,
              },
            ],
          },
          hardware_manager_version: hw,
        };
        break;
      case 'clean.get_clean_steps':
        cmd.command_result = {
          clean_steps: {
            GenericHardwareManager: [
              {
                step: 'erase_devices_metadata',
                priority: 99,
                interface: 'deploy',
                reboot_requested: false,
                abortable: true,
              },
              {
                step: 'erase_devices',
                priority: 10,
                interface: 'deploy',
                reboot_requested: false,
                abortable: true,
              },
            ],
          },
          hardware_manager_version: hw,
        };
        break;
      case 'deploy.execute_deploy_step':
      case 'clean.execute_clean_step': {
        const kind = name.startsWith('deploy') ? 'deploy' : 'clean';
        cmd.command_status = 'RUNNING';
        setTimeout(() => {
          cmd.command_status = 'SUCCEEDED';
          cmd.command_result = { [`${kind}_result`]: {}, [`${kind}_step`]: params['step'] };
        }, this.#opts.stepMs);
        break;
      }
      case 'standby.get_partition_uuids':
        cmd.command_result = {};
        break;
      case 'standby.power_off':
        setTimeout(() => this.#opts.powerOff(), 20);
        break;
      default:
        return [400, { faultstring: `Unknown command: ${name}` }];
    }
    this.commands.push(cmd);
    return [200, cmd];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
