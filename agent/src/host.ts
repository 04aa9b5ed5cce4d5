/**
 * The machine the agent runs on, as the agent sees it. This is the agent's only way to touch hardware:
 * the lab adapts a sim machine to it (disks in memory, power through the machine model) and the qemu
 * backend adapts its in-guest relay (real `dd`, real `poweroff`). The agent never imports either.
 *
 * The inventory types are IPA's wire shape (`hardware.py` NetworkInterface/CPU/Memory/BlockDevice/
 * SystemVendorInfo/BootInfo serializable_fields, plus the fields reference inspector.md §6 `full.json`
 * shows), because they are sent to Ironic and inspector as they are.
 */
import { createHash } from 'node:crypto';

export interface InventoryInterface {
  readonly name: string;
  readonly mac_address: string;
  readonly ipv4_address: string | null;
  readonly ipv6_address: string | null;
  readonly has_carrier: boolean;
  readonly lldp: null;
  readonly vendor: string | null;
  readonly product: string | null;
  readonly client_id: string | null;
  readonly biosdevname: string | null;
  readonly speed_mbps: number | null;
}

export interface InventoryCpu {
  readonly model_name: string;
  readonly frequency: string;
  readonly count: number;
  readonly architecture: string;
  readonly flags: readonly string[];
  readonly socket_count: number;
}

export interface InventoryDisk {
  readonly name: string;
  readonly model: string;
  readonly size: number;
  readonly rotational: boolean;
  readonly wwn: string | null;
  readonly serial: string | null;
  readonly vendor: string | null;
  readonly wwn_with_extension: string | null;
  readonly wwn_vendor_extension: string | null;
  readonly hctl: string | null;
  readonly by_path: string | null;
}

export interface HostInventory {
  readonly interfaces: readonly InventoryInterface[];
  readonly cpu: InventoryCpu;
  readonly disks: readonly InventoryDisk[];
  /** `total` in bytes as the kernel reports it; `physical_mb` from DMI (what inspector uses). */
  readonly memory: { readonly total: number; readonly physical_mb: number };
  readonly bmc_address: string | null;
  readonly bmc_v6address: string | null;
  readonly bmc_mac?: string;
  readonly system_vendor: {
    readonly product_name: string;
    readonly serial_number: string;
    readonly manufacturer: string;
    readonly firmware?: { readonly vendor: string; readonly version: string; readonly build_date: string };
  };
  /** `pxe_interface` is filled in by the agent from BOOTIF, as IPA's `get_boot_info` does. */
  readonly boot: { readonly current_boot_mode: 'bios' | 'uefi'; readonly pxe_interface: string | null };
  readonly hostname: string;
}

export type EraseMode = 'metadata' | 'full';

export interface AgentHost {
  /** Hardware facts as the ramdisk measures them (sim: from the node spec; qemu: inside the guest). */
  inventory(): Promise<HostInventory>;
  /** Streams an image onto a whole disk from offset 0 (IPA `_stream_raw_image_onto_device`); bytes written. */
  writeImage(device: string, data: AsyncIterable<Uint8Array>): Promise<number>;
  /** Reads `length` bytes at `offset` (zeros where nothing was written). */
  readDisk(device: string, offset: number, length: number): Promise<Uint8Array>;
  /** Hex digest of the disk's first `length` bytes, read back from the disk. */
  diskChecksum(device: string, algorithm: string, length: number): Promise<string>;
  /** `metadata`: partition tables and signatures at both ends (erase_devices_metadata); `full`: every byte. */
  eraseDisk(device: string, mode: EraseMode): Promise<void>;
  /** Flushes write caches (`sync`). */
  sync(): Promise<void>;
  /** The OS powers the machine off / reboots it (`poweroff`, `reboot`); the agent is gone afterwards. */
  powerOff(): Promise<void>;
  reboot(): Promise<void>;
  /** Files for `log.collect_system_logs` (name -> content). */
  systemLogs(): Promise<Record<string, string | Uint8Array>>;
}

// ---------------------------------------------------------------------------------------------------
// An in-memory host: the sim backend's disks and a recorded power line.

/** Structurally compatible with vm-fleet's MachineSpec, so a lab can pass a machine's spec as it is. */
export interface HostSpec {
  readonly name: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly arch: string;
  readonly nics: readonly { readonly mac: string }[];
  readonly disks: readonly {
    readonly name: string;
    readonly sizeBytes: number;
    readonly rotational?: boolean;
  }[];
  readonly bmcAddress?: string;
  readonly bootMode?: 'bios' | 'uefi';
  /** Per-NIC IPv4 addresses (DHCP leases); inspector keeps only interfaces with one. */
  readonly ipv4?: readonly (string | null)[];
}

/** `total` is what the kernel sees: physical memory minus what firmware and the kernel reserve. */
const kernelReservedFraction = 0.03;
/** IPA `destroy_disk_metadata` zeroes the GPT areas; 1 MiB at each end covers them and MBR/signatures. */
const metadataSpan = 1024 * 1024;

/** The inventory a ramdisk would measure on a machine built from `spec`. */
export function inventoryFromSpec(s: HostSpec): HostInventory {
  const totalBytes = s.memoryMiB * 1024 * 1024;
  return {
    interfaces: s.nics.map((nic, i) => ({
      name: `eth${i}`,
      mac_address: nic.mac.toLowerCase(),
      ipv4_address: s.ipv4?.[i] ?? null,
      ipv6_address: null,
      has_carrier: true,
      lldp: null,
      vendor: '0x1af4',
      product: '0x0001',
      client_id: null,
      biosdevname: null,
      speed_mbps: null,
    })),
    cpu: {
      model_name: s.arch === 'x86_64' ? 'QEMU Virtual CPU version 2.5+' : 'QEMU virt',
      frequency: '2100.000',
      count: s.cpus,
      architecture: s.arch,
      flags: s.arch === 'x86_64' ? ['fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'lm', 'sse2'] : [],
      socket_count: 1,
    },
    disks: s.disks.map((d, i) => ({
      name: MemoryHost.devName(d.name),
      model: 'QEMU HARDDISK',
      size: d.sizeBytes,
      rotational: d.rotational ?? true,
      wwn: null,
      serial: `${s.name}-disk${i}`,
      vendor: '0x1af4',
      wwn_with_extension: null,
      wwn_vendor_extension: null,
      hctl: null,
      by_path: `/dev/disk/by-path/virtio-pci-0000:00:0${4 + i}.0`,
    })),
    memory: { total: Math.round(totalBytes * (1 - kernelReservedFraction)), physical_mb: s.memoryMiB },
    bmc_address: s.bmcAddress ?? null,
    bmc_v6address: null,
    system_vendor: { product_name: 'bmlab sim machine', serial_number: s.name, manufacturer: 'bmlab' },
    boot: { current_boot_mode: s.bootMode ?? 'bios', pxe_interface: null },
    hostname: s.name,
  };
}

export interface MemoryHostEvents {
  onPowerOff?: () => void;
  onReboot?: () => void;
}

export class MemoryHost implements AgentHost {
  readonly spec: HostSpec;
  /** Written bytes per device from offset 0; everything past the buffer reads as zeros. */
  readonly #disks = new Map<string, Buffer>();
  readonly #events: MemoryHostEvents;
  readonly #log: string[] = [];
  powerOffs = 0;
  reboots = 0;
  syncs = 0;

  constructor(spec: HostSpec, events: MemoryHostEvents = {}) {
    this.spec = spec;
    this.#events = events;
  }

  static devName(name: string): string {
    return name.startsWith('/dev/') ? name : `/dev/${name}`;
  }

  #disk(device: string): { name: string; sizeBytes: number } {
    const d = this.spec.disks.find((x) => MemoryHost.devName(x.name) === device);
    if (d === undefined) throw new Error(`no such block device: ${device}`);
    return d;
  }

  #note(line: string): void {
    this.#log.push(`${new Date().toISOString()} ${line}`);
  }

  async inventory(): Promise<HostInventory> {
    return inventoryFromSpec(this.spec);
  }

  async writeImage(device: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    const disk = this.#disk(device);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of data) {
      n += chunk.length;
      if (n > disk.sizeBytes) throw new Error(`image larger than ${device} (${disk.sizeBytes} bytes)`);
      chunks.push(Buffer.from(chunk));
    }
    const image = Buffer.concat(chunks, n);
    const old = this.#disks.get(device) ?? Buffer.alloc(0);
    // dd overwrites the head of the disk and leaves whatever lies beyond the image.
    this.#disks.set(device, old.length > n ? Buffer.concat([image, old.subarray(n)]) : image);
    this.#note(`wrote ${n} bytes to ${device}`);
    return n;
  }

  async diskChecksum(device: string, algorithm: string, length: number): Promise<string> {
    this.#disk(device);
    const content = this.#disks.get(device) ?? Buffer.alloc(0);
    const hash = createHash(algorithm);
    hash.update(content.subarray(0, length));
    if (length > content.length) hash.update(Buffer.alloc(length - content.length));
    return hash.digest('hex');
  }

  async readDisk(device: string, offset: number, length: number): Promise<Uint8Array> {
    this.#disk(device);
    const out = Buffer.alloc(length);
    const content = this.#disks.get(device) ?? Buffer.alloc(0);
    if (offset < content.length) content.copy(out, 0, offset, Math.min(offset + length, content.length));
    return out;
  }

  /** The bytes written so far (a copy), for tests and lab state. */
  diskContent(device: string): Buffer {
    return Buffer.from(this.#disks.get(MemoryHost.devName(device)) ?? Buffer.alloc(0));
  }

  async eraseDisk(device: string, mode: EraseMode): Promise<void> {
    const disk = this.#disk(device);
    const content = this.#disks.get(device);
    if (mode === 'full' || content === undefined) {
      this.#disks.delete(device);
    } else {
      content.fill(0, 0, Math.min(metadataSpan, content.length));
      const tail = disk.sizeBytes - metadataSpan;
      if (content.length > tail) content.fill(0, Math.max(tail, 0));
    }
    this.#note(`erased ${device} (${mode})`);
  }

  async sync(): Promise<void> {
    this.syncs++;
  }

  async powerOff(): Promise<void> {
    this.powerOffs++;
    this.#note('power off');
    this.#events.onPowerOff?.();
  }

  async reboot(): Promise<void> {
    this.reboots++;
    this.#note('reboot');
    this.#events.onReboot?.();
  }

  async systemLogs(): Promise<Record<string, string>> {
    return { 'host.log': `${this.#log.join('\n')}\n` };
  }
}
