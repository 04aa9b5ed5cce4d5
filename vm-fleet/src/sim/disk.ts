/**
 * A virtual disk as the sim needs it: not bytes, but what was written — the image's checksum and
 * size, and how it boots. The agent's `write_image` records an image here; cleaning erases it.
 */
import { ConfigError } from '../../../common/src/index.ts';

export interface DiskImage {
  /** e.g. `sha256:…` or an md5 hex, as the provisioning system sent it. */
  readonly checksum: string;
  readonly sizeBytes: number;
  readonly format?: 'raw' | 'qcow2';
  /** What the image's OS calls itself on the console (`os-reached` event). */
  readonly os?: string;
  /** A whole-disk image with a bootloader. Partition images without one do not boot. */
  readonly bootable?: boolean;
  /** Whether the OS honours the ACPI power button (soft off). */
  readonly acpi?: boolean;
  /** Extra lines the OS prints once booted (a marker, a login prompt). */
  readonly consoleLines?: readonly string[];
}

export class VirtualDisk {
  #image: DiskImage | undefined;
  #writes = 0;
  constructor(
    readonly name: string,
    readonly sizeBytes: number,
    /** Told after every write and erase (the lab persists what the disk holds). */
    private readonly onChange?: () => void,
  ) {}

  contents(): DiskImage | undefined {
    return this.#image;
  }

  /** Number of writes and erases since creation (tests and reports). */
  get generation(): number {
    return this.#writes;
  }

  write(image: DiskImage): void {
    if (image.sizeBytes > this.sizeBytes) {
      throw new ConfigError(
        'image.sizeBytes',
        `${image.sizeBytes} B does not fit disk ${this.name} (${this.sizeBytes} B)`,
      );
    }
    this.#image = { bootable: true, acpi: true, ...image };
    this.#writes++;
    this.onChange?.();
  }

  /** Puts back what a restarted lab's disk held, without counting a write. */
  restore(image: DiskImage | undefined): void {
    this.#image = image === undefined ? undefined : { ...image };
    this.onChange?.();
  }

  /** Wipes the disk (Ironic clean steps `erase_devices_metadata` / `erase_devices`). */
  erase(): void {
    this.#image = undefined;
    this.#writes++;
    this.onChange?.();
  }
}
