import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/** Debian's interpreter: the `python3` on PATH may not see python3-pyghmi. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../test-support/fake_bmc.py', import.meta.url));

export interface BmcEvent {
  event: 'ready' | 'power' | 'bootdev';
  port?: number;
  state?: 'on' | 'off' | 'reset';
  bootdev?: string;
}

/** A free UDP port on loopback (pyghmi's server cannot bind port 0 and still serve sessions). */
async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/**
 * A real IPMI 2.0 BMC for tests: test-support/fake_bmc.py (pyghmi's Bmc) in a child process, so the
 * conductor's ipmitool command lines really run. `events` records what the BMC was told to do.
 */
export class FakeBmc {
  readonly events: BmcEvent[] = [];
  port = 0;
  #proc: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false }> | undefined;
  #listeners: ((e: BmcEvent) => void)[] = [];

  static async start(user = 'admin', password = 'password'): Promise<FakeBmc> {
    const bmc = new FakeBmc();
    await bmc.#start(user, password);
    return bmc;
  }

  async #start(user: string, password: string): Promise<void> {
    const port = await freeUdpPort();
    const proc = execa(PYTHON, [SCRIPT, String(port), user, password], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
    });
    this.#proc = proc;
    proc.catch(() => undefined);
    let buf = '';
    const ready = new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const e = JSON.parse(buf.slice(0, nl)) as BmcEvent;
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          if (e.event === 'ready') {
            this.port = e.port ?? port;
            resolve();
          } else {
            this.events.push(e);
            for (const l of this.#listeners) l(e);
          }
        }
      });
      proc.once('exit', (code) => reject(new Error(`fake BMC exited with ${code}`)));
    });
    await ready;
  }

  onEvent(fn: (e: BmcEvent) => void): void {
    this.#listeners.push(fn);
  }

  /** The machine turns itself off (the OS honouring `standby.power_off`). */
  powerOffFromInside(): void {
    this.#proc?.stdin.write('off\n');
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    if (!p || p.exitCode !== null) return;
    p.kill('SIGTERM');
    await p.catch(() => undefined);
  }
}
