/**
 * Boot order → QEMU `bootindex` values. The firmware (SeaBIOS, OVMF) reads the order from fw_cfg
 * `bootorder`, which QEMU builds from the devices' bootindex properties; devices without one come after
 * every listed device. A BMC boot override puts its device class first; the rest of the machine's own
 * boot order follows, as a real BIOS falls through to the next entry when a device does not boot.
 */
import type { BootDevice, BootOverride } from '../machine.ts';

/** The device classes in the order the next boot tries them. */
export function effectiveBootOrder(order: readonly BootDevice[], override: BootOverride): BootDevice[] {
  const first = override.device === 'none' ? [] : [override.device];
  const seen = new Set<BootDevice>();
  const out: BootDevice[] = [];
  for (const d of [...first, ...order]) {
    if (d === 'none' || seen.has(d)) continue;
    seen.add(d);
    out.push(d);
  }
  return out;
}

/** QEMU device ids the machine gives its NICs and disks (`/machine/peripheral/<id>` in QOM). */
export const nicId = (i: number): string => `nic${i}`;
export const diskId = (i: number): string => `disk${i}`;

/**
 * bootindex per device id, counting from 1. PXE maps to every NIC in order, disk to every disk;
 * classes this machine has no device for (cdrom, floppy, ...) are skipped, as firmware skips them.
 */
export function bootIndexes(order: readonly BootDevice[], nics: number, disks: number): Map<string, number> {
  const out = new Map<string, number>();
  let next = 1;
  for (const d of order) {
    if (d === 'pxe') for (let i = 0; i < nics; i++) out.set(nicId(i), next++);
    if (d === 'disk' || d === 'remote-disk') for (let i = 0; i < disks; i++) out.set(diskId(i), next++);
  }
  return out;
}

/**
 * The `qom-set bootindex` writes that turn `from` into `to` on a running QEMU. QEMU refuses a bootindex
 * another device already holds (softmmu/bootdevice.c `check_boot_index`), so every changed device is
 * first cleared to -1 and then given its new value.
 */
export function bootIndexUpdates(
  from: ReadonlyMap<string, number>,
  to: ReadonlyMap<string, number>,
): { id: string; bootindex: number }[] {
  const ids = [...new Set([...from.keys(), ...to.keys()])].sort();
  const changed = ids.filter((id) => from.get(id) !== to.get(id));
  return [
    ...changed.filter((id) => from.has(id)).map((id) => ({ id, bootindex: -1 })),
    ...changed.filter((id) => to.has(id)).map((id) => ({ id, bootindex: to.get(id) ?? -1 })),
  ];
}
