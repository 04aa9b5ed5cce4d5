/**
 * Boot flags, System Boot Options parameter 5 (IPMI v2.0 table 28-14):
 *   data 1: bit 7 valid, bit 6 persistent (1 = all future boots), bit 5 boot type (1 = EFI)
 *   data 2: bits 5:2 boot device selector (below), plus CMOS clear / lock keyboard / screen blank
 *   data 3-5: verbosity, console redirection, BIOS mux, device instance — kept as written
 * The device, persistence and mode live on the machine (shared with Redfish); the rest here.
 */
import type { BootDevice, BootOverride, Machine } from '../../../../vm-fleet/src/index.ts';
import type { BmcState } from '../state.ts';

const SELECTORS: ReadonlyArray<readonly [number, BootDevice]> = [
  [0b0000, 'none'],
  [0b0001, 'pxe'],
  [0b0010, 'disk'],
  [0b0011, 'safe'],
  [0b0100, 'diag'],
  [0b0101, 'cdrom'],
  [0b0110, 'bios'],
  [0b0111, 'remote-floppy'],
  [0b1001, 'remote-cdrom'],
  [0b1000, 'remote-cdrom'],
  [0b1011, 'remote-disk'],
  [0b1111, 'floppy'],
];

export function deviceFromSelector(sel: number): BootDevice | undefined {
  return SELECTORS.find(([s]) => s === sel)?.[1];
}

export function selectorFromDevice(d: BootDevice): number {
  return SELECTORS.find(([, dev]) => dev === d)?.[0] ?? 0;
}

/** Section 28.13: without a Chassis Control within 60 s the valid bit clears, unless param 3 bit 3. */
export const BOOT_FLAG_TIMEOUT_MS = 60_000;

export function encodeBootFlags(o: BootOverride, state: BmcState): Buffer {
  const r = state.boot.flagsRest;
  const valid = o.device !== 'none';
  const b1 = (valid ? 0x80 : 0) | (o.persistent ? 0x40 : 0) | (o.mode === 'uefi' ? 0x20 : 0);
  const b2 = (r[0] & ~0x3c) | (selectorFromDevice(o.device) << 2);
  return Buffer.from([b1, b2 & 0xff, r[1], r[2], r[3]]);
}

/** Parses a parameter 5 write into the machine's override plus the bytes the BMC keeps. */
export function decodeBootFlags(
  d: Buffer,
): { override: BootOverride; rest: [number, number, number, number] } | undefined {
  const b1 = d[0] as number;
  const b2 = d[1] as number;
  const device = deviceFromSelector((b2 >> 2) & 0x0f);
  if (device === undefined) return undefined;
  const valid = (b1 & 0x80) !== 0;
  return {
    override: {
      device: valid ? device : 'none',
      persistent: (b1 & 0x40) !== 0,
      mode: (b1 & 0x20) !== 0 ? 'uefi' : 'bios',
    },
    rest: [b2 & ~0x3c & 0xff, d[2] as number, d[3] as number, d[4] as number],
  };
}

/** Clears an override whose 60 s have run out (evaluated lazily, on each request). */
export function expireBootFlags(state: BmcState, machine: Machine, now: number): void {
  const at = state.boot.flagsSetAt;
  if (at === undefined || (state.boot.validBitClearing & 0x08) !== 0) return;
  if (now - at < BOOT_FLAG_TIMEOUT_MS) return;
  state.boot.flagsSetAt = undefined;
  const o = machine.bootOverride();
  if (o.device !== 'none') machine.setBootOverride({ device: 'none', persistent: false, mode: o.mode });
}
