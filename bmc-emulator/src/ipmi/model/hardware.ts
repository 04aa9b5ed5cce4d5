/**
 * The per-node hardware description a BMC reports through FRU, SDR and DCMI: derived
 * deterministically from the machine's spec and the vendor profile, with serial numbers and
 * asset tags hashed from the node name, so the same node shows the same inventory after a restart.
 * Plain data, kept in BmcState and persisted with it.
 */
import { createHash } from 'node:crypto';
import type { MachineSpec } from '../../../../vm-fleet/src/index.ts';
import type { DeviceProfile } from '../state.ts';

export interface HardwareDescription {
  readonly node: string;
  /** Seeds the sensor drift (a 32-bit value from the node name). */
  readonly seed: number;
  readonly manufacturer: string;
  readonly productName: string;
  readonly productPartNumber: string;
  readonly productVersion: string;
  readonly productSerial: string;
  readonly assetTag: string;
  readonly boardManufacturer: string;
  readonly boardProductName: string;
  readonly boardSerial: string;
  readonly boardPartNumber: string;
  /** Board manufacturing date, minutes since 1996-01-01 00:00 UTC (FRU spec section 11). */
  readonly boardMfgMinutes: number;
  readonly chassisPartNumber: string;
  readonly chassisSerial: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly disks: readonly { readonly name: string; readonly sizeBytes: number }[];
  readonly macs: readonly string[];
  readonly fans: number;
  readonly psus: number;
}

interface VendorLook {
  readonly manufacturer: string;
  readonly product: string;
  readonly board: string;
  readonly serial: (h: Buffer) => string;
}

const SERVICE_TAG_CHARS = '0123456789BCDFGHJKLMNPQRSTVWXYZ';
const tag = (h: Buffer, n: number): string =>
  Array.from(h.subarray(0, n), (b) => SERVICE_TAG_CHARS[b % SERVICE_TAG_CHARS.length]).join('');
const hex = (h: Buffer, n: number): string => h.subarray(0, n).toString('hex').toUpperCase();

const VENDOR_LOOKS: Readonly<Record<string, VendorLook>> = {
  generic: {
    manufacturer: 'bmlab',
    product: 'Virtual Server',
    board: 'VS-MB1',
    serial: (h) => `BML${hex(h, 5)}`,
  },
  // Dell prints its 7-character service tag as the product serial.
  dell: { manufacturer: 'Dell Inc.', product: 'PowerEdge R640', board: '0W23H8', serial: (h) => tag(h, 7) },
  hpe: {
    manufacturer: 'HPE',
    product: 'ProLiant DL360 Gen10',
    board: 'ProLiant System Board',
    serial: (h) => `CZ${tag(h, 8)}`,
  },
  lenovo: {
    manufacturer: 'Lenovo',
    product: 'ThinkSystem SR650',
    board: 'SB27A',
    serial: (h) => `J30${tag(h, 5)}`,
  },
  supermicro: {
    manufacturer: 'Supermicro',
    product: 'SYS-1029P-WTR',
    board: 'X11DDW-L',
    serial: (h) => `S${hex(h, 6)}`,
  },
};

function digest(node: string, what: string): Buffer {
  return createHash('sha256').update(`bmlab:hw:${what}:${node}`).digest();
}

export function describeHardware(spec: MachineSpec, profile: DeviceProfile): HardwareDescription {
  const look = VENDOR_LOOKS[profile.name] ?? (VENDOR_LOOKS.generic as VendorLook);
  const node = spec.name;
  const part = (what: string) =>
    `${hex(digest(node, what), 2).slice(0, 3)}-${hex(digest(node, `${what}2`), 2)}`;
  return {
    node,
    seed: digest(node, 'seed').readUInt32LE(0),
    manufacturer: look.manufacturer,
    productName: look.product,
    productPartNumber: `${look.product.split(' ').at(-1)}-${part('product')}`,
    productVersion: '01',
    productSerial: look.serial(digest(node, 'product-serial')),
    assetTag: node.slice(0, 32),
    boardManufacturer: look.manufacturer,
    boardProductName: look.board,
    boardSerial: look.serial(digest(node, 'board-serial')),
    boardPartNumber: `MB-${part('board')}`,
    // Some day in 2024, fixed per node.
    boardMfgMinutes: 14_728_320 + (digest(node, 'mfg').readUInt32LE(0) % 525_600),
    chassisPartNumber: `CH-${part('chassis')}`,
    chassisSerial: look.serial(digest(node, 'chassis-serial')),
    cpus: spec.cpus,
    memoryMiB: spec.memoryMiB,
    disks: spec.disks.map((d) => ({ name: d.name, sizeBytes: d.sizeBytes })),
    macs: spec.nics.map((n) => n.mac),
    fans: spec.cpus > 8 ? 6 : 4,
    psus: 2,
  };
}
