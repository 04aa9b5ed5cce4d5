/**
 * An AgentHost for a QEMU machine whose agent ramdisk runs bmlab's in-guest relay
 * (`scripts/build-images.sh`, initrd-agent.gz). The relay is a busybox loop that
 *   - polls `GET {lab}/relay?id=&mac=` every 2 s and runs one command per answer:
 *     `write <url>` (`wget -O - url | dd of=/dev/vda bs=1M conv=fsync`), `poweroff`, `reboot`;
 *   - reports `POST {lab}/phonehome?role=agent&id=&mac=&ip=&uptime=&event=up` with what it measured
 *     inside the guest (`parseGuestReport`), and `GET ...&event=written&rc=<dd exit code>` after a write.
 * The lab's HTTP server routes those requests here (`nextCommand`, `openImage`, `phoneHome`), so the
 * bytes really go through the guest's `dd` onto its virtio disk and the guest really powers off.
 *
 * The inventory is the guest's own measurement (CPUs from /proc/cpuinfo, memory from /proc/meminfo and
 * the SMBIOS memory devices, disks from /sys/block, NICs from /sys/class/net), never the lab's spec.
 * What the relay cannot do, this host does not fake: it cannot read the disk back, so `readDisk` and
 * `diskChecksum` answer from the bytes this host streamed to the guest (and say so in their errors
 * beyond that); erasing writes zeros from the start of the disk through the same `dd`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AgentHost, EraseMode, HostInventory, HostSpec, InventoryDisk } from './host.ts';

/** The relay's `dd` always targets the first virtio disk. */
export const relayDevice = '/dev/vda';
/** A metadata erase zeroes the partition table area at the head of the disk. */
const metadataSpan = 1024 * 1024;

/** What the in-guest relay measured and sent with its first phone-home (scripts/build-images.sh `report`). */
export interface GuestReport {
  readonly cmdline: string;
  readonly arch: string;
  readonly cpu: {
    readonly count: number;
    readonly model: string;
    readonly mhz: string;
    readonly flags: readonly string[];
    readonly sockets: number;
  };
  readonly memTotalKiB: number;
  /** One entry per SMBIOS memory device (type 17), in MiB. */
  readonly dimmsMiB: readonly number[];
  readonly disks: readonly {
    readonly name: string;
    readonly bytes: number;
    readonly rotational: boolean;
    readonly serial: string | null;
  }[];
  readonly nics: readonly {
    readonly name: string;
    readonly mac: string;
    readonly carrier: boolean;
    readonly ipv4: string | null;
  }[];
}

/** Parses the relay's `key=value` report; unknown keys are ignored, missing ones read as empty. */
export function parseGuestReport(text: string): GuestReport {
  const one = new Map<string, string>();
  const many = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1).trim();
    if (!one.has(k)) one.set(k, v);
    many.set(k, [...(many.get(k) ?? []), v]);
  }
  const num = (k: string): number => {
    const n = Number(one.get(k));
    return Number.isFinite(n) ? n : 0;
  };
  return {
    cmdline: one.get('cmdline') ?? '',
    arch: one.get('arch') ?? '',
    cpu: {
      count: num('cpu_count'),
      model: one.get('cpu_model') ?? '',
      mhz: one.get('cpu_mhz') ?? '',
      flags: (one.get('cpu_flags') ?? '').split(/\s+/).filter(Boolean),
      sockets: Math.max(1, num('cpu_sockets')),
    },
    memTotalKiB: num('mem_total_kb'),
    dimmsMiB: (many.get('dimm_mb') ?? []).map(Number).filter((n) => Number.isFinite(n) && n > 0),
    disks: (many.get('disk') ?? []).flatMap((v) => {
      const [name, bytes, rot, ...serial] = v.split(/\s+/);
      if (name === undefined || bytes === undefined) return [];
      return [{ name, bytes: Number(bytes), rotational: rot === '1', serial: serial.join(' ') || null }];
    }),
    nics: (many.get('nic') ?? []).flatMap((v) => {
      const [name, mac, carrier, ipv4] = v.split(/\s+/);
      if (name === undefined || mac === undefined) return [];
      return [{ name, mac: mac.toLowerCase(), carrier: carrier === '1', ipv4: ipv4 || null }];
    }),
  };
}

/** IPA's inventory from the guest's measurements (`bmcAddress` is the one fact the guest cannot see). */
export function inventoryFromGuestReport(
  r: GuestReport,
  extra: { readonly hostname: string; readonly bmcAddress?: string },
): HostInventory {
  const physicalMb =
    r.dimmsMiB.length > 0 ? r.dimmsMiB.reduce((a, b) => a + b, 0) : Math.round(r.memTotalKiB / 1024);
  return {
    interfaces: r.nics.map((n) => ({
      name: n.name,
      mac_address: n.mac,
      ipv4_address: n.ipv4,
      ipv6_address: null,
      has_carrier: n.carrier,
      lldp: null,
      vendor: '0x1af4',
      product: '0x0001',
      client_id: null,
      biosdevname: null,
      speed_mbps: null,
    })),
    cpu: {
      model_name: r.cpu.model,
      frequency: r.cpu.mhz,
      count: r.cpu.count,
      architecture: r.arch,
      flags: r.cpu.flags,
      socket_count: r.cpu.sockets,
    },
    disks: r.disks.map(
      (d): InventoryDisk => ({
        name: `/dev/${d.name}`,
        model: '',
        size: d.bytes,
        rotational: d.rotational,
        wwn: null,
        serial: d.serial,
        vendor: '0x1af4',
        wwn_with_extension: null,
        wwn_vendor_extension: null,
        hctl: null,
        by_path: null,
      }),
    ),
    memory: { total: r.memTotalKiB * 1024, physical_mb: physicalMb },
    bmc_address: extra.bmcAddress ?? null,
    bmc_v6address: null,
    system_vendor: {
      product_name: 'Standard PC (Q35 + ICH9, 2009)',
      serial_number: '',
      manufacturer: 'QEMU',
    },
    boot: { current_boot_mode: 'bios', pxe_interface: null },
    hostname: extra.hostname,
  };
}

export interface RelayHostOptions {
  readonly spec: HostSpec;
  /** What the guest measured (its first phone-home); the inventory comes from here. */
  readonly report: GuestReport;
  readonly bootMode?: 'bios' | 'uefi';
  /** A write ended well on the guest (bytes streamed and their digests), or the disk was erased. */
  readonly onDisk?: (
    device: string,
    written: { bytes: number; digests: ReadonlyMap<string, string> } | undefined,
  ) => void;
  /** Base URL, as the guest reaches the lab, under which `openImage(token)` is served: `${base}/${token}`. */
  readonly imageBaseUrl: string;
  /** How long a write may take before it is declared failed (default 10 min). */
  readonly writeTimeoutMs?: number;
}

interface PendingWrite {
  readonly token: string;
  readonly source: AsyncIterable<Uint8Array>;
  taken: boolean;
  bytes: number;
  head: Buffer;
  readonly hashes: Map<string, ReturnType<typeof createHash>>;
  resolve: (rc: number) => void;
}

export class RelayHost implements AgentHost {
  readonly spec: HostSpec;
  readonly #opts: RelayHostOptions;
  readonly #queue: string[] = [];
  readonly #writes = new Map<string, PendingWrite>();
  #current: PendingWrite | undefined;
  /** What the last successful write put at the head of the disk, and its digests. */
  #written: { bytes: number; head: Buffer; digests: Map<string, string> } | undefined;
  readonly #log: string[] = [];

  constructor(opts: RelayHostOptions) {
    this.spec = opts.spec;
    this.#opts = opts;
  }

  #note(line: string): void {
    this.#log.push(`${new Date().toISOString()} ${line}`);
  }

  // ---- the lab side: the relay's HTTP requests ----------------------------------------------------

  /** `GET /relay`: the next command line for the guest, or undefined (answer 204). */
  nextCommand(): string | undefined {
    return this.#queue.shift();
  }

  /** `GET {imageBaseUrl}/<token>`: the bytes of a queued write, once; undefined for an unknown token. */
  openImage(token: string): AsyncIterable<Uint8Array> | undefined {
    const w = this.#writes.get(token);
    if (w === undefined || w.taken) return undefined;
    w.taken = true;
    return this.#tap(w);
  }

  async *#tap(w: PendingWrite): AsyncGenerator<Uint8Array> {
    for await (const chunk of w.source) {
      if (w.head.length < 512) w.head = Buffer.concat([w.head, Buffer.from(chunk)]).subarray(0, 512);
      for (const h of w.hashes.values()) h.update(chunk);
      w.bytes += chunk.length;
      yield chunk;
    }
  }

  /** `GET /phonehome?...`: `event=written&rc=N` ends the write in progress. */
  phoneHome(query: Readonly<Record<string, string>>): void {
    this.#note(`phonehome ${new URLSearchParams(query as Record<string, string>).toString()}`);
    if (query['event'] === 'written' && this.#current !== undefined) {
      this.#current.resolve(Number(query['rc'] ?? '1'));
    }
  }

  // ---- AgentHost ----------------------------------------------------------------------------------

  async inventory(): Promise<HostInventory> {
    const inv = inventoryFromGuestReport(this.#opts.report, {
      hostname: this.spec.name,
      ...(this.spec.bmcAddress === undefined ? {} : { bmcAddress: this.spec.bmcAddress }),
    });
    return { ...inv, boot: { ...inv.boot, current_boot_mode: this.#opts.bootMode ?? 'bios' } };
  }

  async writeImage(device: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    if (device !== relayDevice) throw new Error(`the relay writes only ${relayDevice}, not ${device}`);
    if (this.#current !== undefined) throw new Error('a write is already in progress');
    const token = randomUUID();
    const hashes = new Map(['md5', 'sha256', 'sha512'].map((a) => [a, createHash(a)] as const));
    let timer: NodeJS.Timeout | undefined;
    const rc = await new Promise<number>((resolve) => {
      const w: PendingWrite = {
        token,
        source: data,
        taken: false,
        bytes: 0,
        head: Buffer.alloc(0),
        hashes,
        resolve,
      };
      this.#writes.set(token, w);
      this.#current = w;
      this.#queue.push(`write ${this.#opts.imageBaseUrl}/${token}`);
      this.#note(`queued write ${token}`);
      timer = setTimeout(() => resolve(-1), this.#opts.writeTimeoutMs ?? 600_000);
    }).finally(() => {
      clearTimeout(timer);
      this.#current = undefined;
    });
    const w = this.#writes.get(token)!;
    this.#writes.delete(token);
    if (rc !== 0) {
      throw new Error(
        rc === -1 ? 'the relay did not report the write in time' : `dd on the guest exited with ${rc}`,
      );
    }
    this.#written = {
      bytes: w.bytes,
      head: w.head,
      digests: new Map([...w.hashes].map(([a, h]) => [a, h.digest('hex')])),
    };
    this.#opts.onDisk?.(device, this.#written);
    return w.bytes;
  }

  async readDisk(device: string, offset: number, length: number): Promise<Uint8Array> {
    if (device !== relayDevice) throw new Error(`no such block device: ${device}`);
    const head = this.#written?.head ?? Buffer.alloc(0);
    if (offset + length > 512)
      throw new Error('the relay cannot read the disk; only the first sector written is known');
    const out = Buffer.alloc(length);
    if (offset < head.length) head.copy(out, 0, offset, Math.min(offset + length, head.length));
    return out;
  }

  async diskChecksum(device: string, algorithm: string, length: number): Promise<string> {
    if (device !== relayDevice) throw new Error(`no such block device: ${device}`);
    const w = this.#written;
    const digest = w?.digests.get(algorithm);
    if (w === undefined || w.bytes !== length || digest === undefined) {
      throw new Error('the relay cannot read the disk; only the digest of the last full write is known');
    }
    return digest;
  }

  async eraseDisk(device: string, mode: EraseMode): Promise<void> {
    const disk = this.spec.disks.find((d) => `/dev/${d.name.replace(/^\/dev\//, '')}` === device);
    if (disk === undefined) throw new Error(`no such block device: ${device}`);
    const size = mode === 'metadata' ? Math.min(metadataSpan, disk.sizeBytes) : disk.sizeBytes;
    async function* zeros(): AsyncGenerator<Uint8Array> {
      const chunk = Buffer.alloc(1024 * 1024);
      for (let left = size; left > 0; left -= chunk.length)
        yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    }
    await this.writeImage(device, zeros());
    this.#opts.onDisk?.(device, undefined);
    this.#note(`erased ${device} (${mode}, ${size} bytes of zeros)`);
  }

  async sync(): Promise<void> {
    // The relay's dd runs with conv=fsync and the script calls sync after it.
  }

  async powerOff(): Promise<void> {
    this.#queue.push('poweroff');
  }

  async reboot(): Promise<void> {
    this.#queue.push('reboot');
  }

  async systemLogs(): Promise<Record<string, string>> {
    return { 'relay.log': `${this.#log.join('\n')}\n` };
  }
}
