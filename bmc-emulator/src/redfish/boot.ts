/**
 * Redfish `Boot` (ComputerSystem.v1_x Boot: BootSourceOverrideTarget/Enabled/Mode) <-> the machine's
 * boot override, the same one IPMI's boot flags set (IPMI v2.0 table 28-14):
 *   Enabled Once       <-> valid for the next boot only (persistent = false)
 *   Enabled Continuous <-> persistent
 *   Enabled Disabled   <-> no override (device 'none'), the machine follows its boot order
 *   Mode UEFI / Legacy <-> mode 'uefi' / 'bios'
 * Pure functions; the route reads the machine, merges the PATCH and writes it back.
 */
import type { BootDevice, BootOverride } from '../../../vm-fleet/src/index.ts';
import { Errors } from './errors.ts';

/** Targets this BMC accepts, each with the machine device it selects. */
export const BOOT_TARGETS = {
  None: 'none',
  Pxe: 'pxe',
  Hdd: 'disk',
  Cd: 'cdrom',
  Floppy: 'floppy',
  BiosSetup: 'bios',
  Diags: 'diag',
} as const satisfies Record<string, BootDevice>;
export type BootTarget = keyof typeof BOOT_TARGETS;

export const BOOT_ENABLED = ['Disabled', 'Once', 'Continuous'] as const;
export type BootEnabled = (typeof BOOT_ENABLED)[number];

export const BOOT_MODES = ['Legacy', 'UEFI'] as const;
export type RedfishBootMode = (typeof BOOT_MODES)[number];

/** Devices IPMI can set that Redfish has no own name for map to their closest Redfish target. */
const TARGET_OF_DEVICE: Record<BootDevice, BootTarget> = {
  none: 'None',
  pxe: 'Pxe',
  disk: 'Hdd',
  safe: 'Hdd',
  'remote-disk': 'Hdd',
  diag: 'Diags',
  cdrom: 'Cd',
  'remote-cdrom': 'Cd',
  bios: 'BiosSetup',
  floppy: 'Floppy',
  'remote-floppy': 'Floppy',
};

export interface RedfishBoot {
  readonly BootSourceOverrideTarget: BootTarget;
  readonly BootSourceOverrideEnabled: BootEnabled;
  readonly BootSourceOverrideMode: RedfishBootMode;
}

export function bootFromOverride(o: BootOverride): RedfishBoot {
  return {
    BootSourceOverrideTarget: TARGET_OF_DEVICE[o.device],
    BootSourceOverrideEnabled: o.device === 'none' ? 'Disabled' : o.persistent ? 'Continuous' : 'Once',
    BootSourceOverrideMode: o.mode === 'uefi' ? 'UEFI' : 'Legacy',
  };
}

export interface BootPatch {
  readonly BootSourceOverrideTarget?: unknown;
  readonly BootSourceOverrideEnabled?: unknown;
  readonly BootSourceOverrideMode?: unknown;
}

function pick<T extends string>(prop: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw Errors.propertyValueTypeError(`Boot/${prop}`, value);
  if (!(allowed as readonly string[]).includes(value))
    throw Errors.propertyValueNotInList(`Boot/${prop}`, value);
  return value as T;
}

/**
 * Applies a PATCH of `Boot` to the current override. Properties left out keep their value. Setting
 * a target while the override is Disabled enables it for one boot (what Ironic expects when it
 * sends only a target); Disabled or target None clears the device but keeps the mode.
 */
export function applyBootPatch(current: BootOverride, patch: BootPatch): BootOverride {
  const target = pick(
    'BootSourceOverrideTarget',
    patch.BootSourceOverrideTarget,
    Object.keys(BOOT_TARGETS) as BootTarget[],
  );
  const enabled = pick('BootSourceOverrideEnabled', patch.BootSourceOverrideEnabled, BOOT_ENABLED);
  const mode = pick('BootSourceOverrideMode', patch.BootSourceOverrideMode, BOOT_MODES);
  const now = bootFromOverride(current);
  const newMode = mode === undefined ? current.mode : mode === 'UEFI' ? 'uefi' : 'bios';
  const newTarget = target ?? now.BootSourceOverrideTarget;
  let newEnabled = enabled ?? now.BootSourceOverrideEnabled;
  if (target !== undefined && target !== 'None' && enabled === undefined && newEnabled === 'Disabled')
    newEnabled = 'Once';
  if (newEnabled === 'Disabled' || newTarget === 'None')
    return { device: 'none', persistent: false, mode: newMode };
  // Keep the exact device when only Enabled/Mode change (an IPMI-set 'remote-cdrom' stays so).
  const device = target === undefined ? current.device : BOOT_TARGETS[newTarget];
  return { device, persistent: newEnabled === 'Continuous', mode: newMode };
}
