/**
 * IPv6 router advertisements for bridge mode. iPXE waits ~16 s for an RA before it chains on a
 * segment without one (router solicitations at +0, 0.25, 0.8, 1.85, 3.9, 7.95 s; reference/
 * qemu-netboot.md sec. 3), so the lab's bridge needs an RA source. Node cannot open raw ICMPv6
 * sockets, so this runs dnsmasq in RA-only mode (DNS and DHCP off) — what was measured to work next
 * to the npm-dhcp server — bound to the one bridge interface, inside the lab's network namespace.
 */
import { execa, type ResultPromise } from 'execa';
import { BmlabError, createLogger } from '../../common/src/index.ts';

const log = createLogger('network-boot:ra');

const SPAWN = { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: false } as const;
type Daemon = ResultPromise<typeof SPAWN>;

export interface RouterAdvertiserOptions {
  /** The bridge interface, e.g. `br0`; it must already carry a global IPv6 address (fd77::1/64). */
  readonly iface: string;
  /** Runs the daemon inside a namespace: e.g. `['ip', 'netns', 'exec', 'bmlab']`. */
  readonly execPrefix?: readonly string[];
  readonly dnsmasq?: string;
  /** How long to wait for dnsmasq to report RA as enabled. */
  readonly startTimeoutMs?: number;
}

/** dnsmasq argv for RA only: prefixes are constructed from the interface's own addresses. */
export function dnsmasqRaArgs(iface: string): string[] {
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--port=0', // no DNS
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--interface=${iface}`,
    '--enable-ra',
    // Advertise every prefix configured on the interface, SLAAC only (no DHCPv6).
    `--dhcp-range=::,constructor:${iface},ra-only,64`,
    '--log-facility=-',
    '--pid-file=',
  ];
}

export class RouterAdvertiser {
  readonly #proc: Daemon;
  #log = '';

  private constructor(proc: Daemon) {
    this.#proc = proc;
  }

  /** Starts dnsmasq (dying with this process: `setpriv --pdeathsig KILL`) and waits until RA is on. */
  static async start(opts: RouterAdvertiserOptions): Promise<RouterAdvertiser> {
    const argv = [
      ...(opts.execPrefix ?? []),
      'setpriv',
      '--pdeathsig',
      'KILL',
      opts.dnsmasq ?? 'dnsmasq',
      ...dnsmasqRaArgs(opts.iface),
    ];
    const [cmd, ...args] = argv as [string, ...string[]];
    const proc = execa(cmd, args, SPAWN);
    const ra = new RouterAdvertiser(proc);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new BmlabError('ERR_RA_START', `dnsmasq did not enable RA: ${ra.#log.slice(-400)}`)),
        opts.startTimeoutMs ?? 5000,
      );
      const fail = (e: Error) => {
        clearTimeout(timer);
        void ra.stop();
        reject(e);
      };
      proc.stderr?.on('data', (chunk: Buffer) => {
        ra.#log = (ra.#log + chunk.toString()).slice(-8192);
        if (ra.#log.includes('IPv6 router advertisement enabled')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void proc.then((r) =>
        fail(
          new BmlabError('ERR_RA_EXIT', `dnsmasq exited (${r.exitCode ?? r.signal}): ${ra.#log.slice(-400)}`),
        ),
      );
    });
    log.debug('router advertisements on %s (pid %d)', opts.iface, proc.pid);
    return ra;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** dnsmasq's log lines (RTR-SOLICIT / RTR-ADVERT show the exchange). */
  log(): string {
    return this.#log;
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.pid !== undefined) this.#proc.kill('SIGTERM');
    await this.#proc;
  }
}
