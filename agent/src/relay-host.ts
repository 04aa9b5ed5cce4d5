/**
 * An AgentHost for a QEMU machine whose agent ramdisk runs bmlab's in-guest relay
 * (`scripts/build-images.sh`, initrd-agent.gz). The relay is a busybox loop that
 *   - polls `GET {lab}/relay?id=&mac=` every 2 s and runs one command per answer:
 *     `write <url>` (`wget -O - url | dd of=/dev/vda bs=1M conv=fsync`), `poweroff`, `reboot`;
 *   - reports `GET {lab}/phonehome?role=agent&id=&mac=&ip=&uptime=&event=up|written&rc=<dd exit code>`.
 * The lab's HTTP server routes those requests here (`nextCommand`, `openImage`, `phoneHome`), so the
 * bytes really go through the guest's `dd` onto its virtio disk and the guest really powers off.
 *
 * What the relay cannot do, this host does not fake: it cannot read the disk back, so `readDisk` and
 * `diskChecksum` answer from the bytes this host streamed to the guest (and say so in their errors
 * beyond that); erasing writes zeros from the start of the disk through the same `dd`.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  type AgentHost,
  type EraseMode,
  type HostInventory,
  type HostSpec,
  inventoryFromSpec,
} from './host.ts';

/** The relay's `dd` always targets the first virtio disk. */
export const relayDevice = '/dev/vda';
/** A metadata erase zeroes the partition table area at the head of the disk. */
const metadataSpan = 1024 * 1024;

export interface RelayHostOptions {
  readonly spec: HostSpec;
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
    return inventoryFromSpec(this.spec);
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
