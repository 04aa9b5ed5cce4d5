/**
 * What of a machine outlives a restart of the lab, for both backends: the boot override, what is on
 * the disks, the last boot device and the hour meter. Power is kept too, but not put back here:
 * whether a machine that was on comes back on is its BMC's power restore policy, as after a real
 * rack loses and regains AC power.
 */
import { DecodeError } from '../../../common/src/index.ts';
import type { BootDevice, BootOverride, PowerOnTimer, PowerState } from '../machine.ts';
import type { DiskImage, VirtualDisk } from './disk.ts';

export interface MachineSnapshot {
  readonly power: PowerState;
  readonly override: BootOverride;
  /** Each disk's contents by disk name (null = blank). */
  readonly disks: Readonly<Record<string, DiskImage | null>>;
  readonly lastBootDevice: BootDevice | null;
  /** Power-on time so far in whole minutes (Get POH Counter), so the snapshot changes once a minute. */
  readonly poweredOnMinutes: number;
}

/** The parts of a machine a snapshot is made of and put back into. */
export interface SnapshotParts {
  readonly power: PowerState;
  readonly override: BootOverride;
  readonly disks: readonly VirtualDisk[];
  readonly lastBootDevice: BootDevice | undefined;
  readonly timer: PowerOnTimer;
}

export function takeSnapshot(p: SnapshotParts): MachineSnapshot {
  return {
    power: p.power,
    override: { ...p.override },
    disks: Object.fromEntries(
      p.disks.map((d) => {
        const image = d.contents();
        return [d.name, image === undefined ? null : { ...image }];
      }),
    ),
    lastBootDevice: p.lastBootDevice ?? null,
    poweredOnMinutes: Math.floor(p.timer.totalMs() / 60_000),
  };
}

/**
 * Checks a stored snapshot (it comes from a file), puts its disk contents and hour meter back, and
 * returns the boot override and last boot device for the machine to keep. The caller makes sure the
 * machine is off.
 */
export function restoreSnapshot(
  id: string,
  snap: MachineSnapshot,
  disks: readonly VirtualDisk[],
  timer: PowerOnTimer,
): { override: BootOverride; lastBootDevice: BootDevice | undefined } {
  const o = snap.override as Partial<BootOverride> | undefined;
  if (
    typeof o?.device !== 'string' ||
    typeof o.persistent !== 'boolean' ||
    (o.mode !== 'bios' && o.mode !== 'uefi') ||
    typeof snap.disks !== 'object' ||
    snap.disks === null
  )
    throw new DecodeError('ERR_SNAPSHOT', `${id}: machine snapshot lacks a boot override or disks`);
  // By name: a disk the spec no longer has is dropped, a new one stays blank.
  for (const d of disks) d.restore(snap.disks[d.name] ?? undefined);
  if (typeof snap.poweredOnMinutes === 'number') timer.restore(snap.poweredOnMinutes * 60_000);
  return {
    override: { device: o.device, persistent: o.persistent, mode: o.mode },
    lastBootDevice: snap.lastBootDevice ?? undefined,
  };
}
