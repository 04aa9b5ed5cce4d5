/**
 * What the emulated agent sees of a sim machine: the node's spec as its hardware, the machine's
 * virtual disks as block devices, and its power line. Image bytes are kept (so the agent can read
 * them back and checksum them, as IPA does) and the disk also records what was written — the
 * image's digest — which is what the sim boots from.
 */
import { createHash } from 'node:crypto';
import { type AgentHost, type EraseMode, type HostInventory, MemoryHost } from '../../agent/src/index.ts';
import type { SimMachine } from '../../vm-fleet/src/index.ts';

export const SIM_OS = 'bmlab-deployed-image';

export class SimHost implements AgentHost {
  readonly #bytes: MemoryHost;
  #inventoryDelayMs: number;

  constructor(
    readonly machine: SimMachine,
    extra: {
      readonly bmcAddress?: string;
      readonly ipv4?: readonly (string | null)[];
      /**
       * How long the boot's first inventory collection takes (IPA runs lshw, dmidecode, lsblk: seconds on a real
       * machine). Real Ironic moves to `inspect wait` only after its post-power-on `power status`;
       * data that reaches inspector before that fails the inspection (Ironic answers its PATCH 409).
       */
      readonly inventoryDelayMs?: number;
    } = {},
  ) {
    const { inventoryDelayMs, ...hw } = extra;
    this.#inventoryDelayMs = inventoryDelayMs ?? 0;
    this.#bytes = new MemoryHost({ ...machine.spec, ...hw });
  }

  #disk(device: string) {
    const name = device.replace(/^\/dev\//, '');
    return this.machine.disks.find((d) => d.name === name);
  }

  async inventory(): Promise<HostInventory> {
    // The first collection of a boot is the slow one (later ones read the tools' caches).
    const delay = this.#inventoryDelayMs;
    this.#inventoryDelayMs = 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return this.#bytes.inventory();
  }

  async writeImage(device: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    const digest = createHash('sha256');
    async function* tee() {
      for await (const chunk of data) {
        digest.update(chunk);
        yield chunk;
      }
    }
    const n = await this.#bytes.writeImage(device, tee());
    const checksum = `sha256:${digest.digest('hex')}`;
    this.#disk(device)?.write({
      checksum,
      sizeBytes: n,
      os: SIM_OS,
      consoleLines: [`${SIM_OS} ${checksum.slice(7, 19)} up`],
    });
    return n;
  }

  readDisk(device: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#bytes.readDisk(device, offset, length);
  }

  diskChecksum(device: string, algorithm: string, length: number): Promise<string> {
    return this.#bytes.diskChecksum(device, algorithm, length);
  }

  async eraseDisk(device: string, mode: EraseMode): Promise<void> {
    await this.#bytes.eraseDisk(device, mode);
    this.#disk(device)?.erase();
  }

  sync(): Promise<void> {
    return this.#bytes.sync();
  }

  /** The ramdisk's `poweroff`: the machine goes off as a real OS would take it off. */
  powerOff(): Promise<void> {
    return this.machine.powerOff();
  }

  reboot(): Promise<void> {
    return this.machine.reset();
  }

  systemLogs(): Promise<Record<string, string | Uint8Array>> {
    return this.#bytes.systemLogs();
  }
}
