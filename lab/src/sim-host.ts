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

  constructor(
    readonly machine: SimMachine,
    extra: { readonly bmcAddress?: string; readonly ipv4?: readonly (string | null)[] } = {},
  ) {
    this.#bytes = new MemoryHost({ ...machine.spec, ...extra });
  }

  #disk(device: string) {
    const name = device.replace(/^\/dev\//, '');
    return this.machine.disks.find((d) => d.name === name);
  }

  inventory(): Promise<HostInventory> {
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
