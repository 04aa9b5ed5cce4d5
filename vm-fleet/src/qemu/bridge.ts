/**
 * Bridge networking for the qemu backend: a private network namespace holding a Linux bridge and one
 * tap per VM, so several machines share one L2 segment like a rack behind a switch, and the lab's own
 * DHCP/TFTP/HTTP servers (run inside the namespace) answer their PXE requests. Everything is created
 * inside the namespace; the host's own interfaces and routes are never touched, and deleting the
 * namespace removes the bridge and every tap at once. Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN).
 *
 * iPXE waits ~16 s for an IPv6 router advertisement on a segment without one
 * (shared/reference/qemu-netboot.md §3), so the bridge also carries an IPv6 address for an RA source.
 */
import { execa } from 'execa';
import { ConfigError } from '../../../common/src/index.ts';

export interface BridgeNetworkOptions {
  /** Namespace name (`ip netns`); one per lab. */
  readonly namespace: string;
  readonly bridge?: string;
  /** The lab's address on the segment, with prefix: the VMs' router and boot server. */
  readonly address?: string;
  /** IPv6 address for router advertisements (iPXE's IPv6 autoconfiguration). */
  readonly address6?: string;
}

export class BridgeNetwork {
  readonly namespace: string;
  readonly bridge: string;
  readonly address: string;
  readonly address6: string;
  readonly #taps = new Set<string>();

  private constructor(o: BridgeNetworkOptions) {
    this.namespace = o.namespace;
    this.bridge = o.bridge ?? 'br0';
    this.address = o.address ?? '10.77.0.1/24';
    this.address6 = o.address6 ?? 'fd77::1/64';
  }

  /** The lab's IPv4 address on the segment, without prefix. */
  get gateway(): string {
    return this.address.split('/')[0] ?? this.address;
  }

  static async create(options: BridgeNetworkOptions): Promise<BridgeNetwork> {
    if (process.getuid?.() !== 0) {
      throw new ConfigError('network.mode', 'bridge networking creates a network namespace and needs root');
    }
    const n = new BridgeNetwork(options);
    await execa('ip', ['netns', 'add', n.namespace]);
    try {
      await n.#ip('link', 'set', 'lo', 'up');
      // STP off and no forwarding delay: a port forwards at once, as PXE's first DHCP needs.
      await n.#ip('link', 'add', n.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
      await n.#ip('addr', 'add', n.address, 'dev', n.bridge);
      await n.#ip('-6', 'addr', 'add', n.address6, 'dev', n.bridge, 'nodad');
      await n.#ip('link', 'set', n.bridge, 'up');
    } catch (err) {
      await execa('ip', ['netns', 'del', n.namespace], { reject: false });
      throw err;
    }
    return n;
  }

  /** Creates tap `name` on the bridge; a VM attaches with `{ mode: 'tap', ifname: name }`. */
  async addTap(name: string): Promise<void> {
    await this.#ip('tuntap', 'add', 'dev', name, 'mode', 'tap');
    await this.#ip('link', 'set', name, 'master', this.bridge, 'up');
    this.#taps.add(name);
  }

  async removeTap(name: string): Promise<void> {
    await this.#ip('link', 'del', name);
    this.#taps.delete(name);
  }

  /** argv prefix that runs a command inside the namespace. */
  exec(): string[] {
    return ['ip', 'netns', 'exec', this.namespace];
  }

  /** Deletes the namespace with its bridge and taps. */
  async destroy(): Promise<void> {
    await execa('ip', ['netns', 'del', this.namespace], { reject: false });
    this.#taps.clear();
  }

  async #ip(...args: string[]): Promise<void> {
    await execa('ip', ['-n', this.namespace, ...args]);
  }
}
