import { describe, expect, it } from 'vitest';
import type { BootDevice, BootOverride } from '../../../vm-fleet/src/index.ts';
import { applyBootPatch, BOOT_TARGETS, bootFromOverride } from './boot.ts';

const DEVICES: BootDevice[] = [
  'none',
  'pxe',
  'disk',
  'safe',
  'diag',
  'cdrom',
  'bios',
  'remote-floppy',
  'remote-cdrom',
  'remote-disk',
  'floppy',
];
const ALL: BootOverride[] = DEVICES.flatMap((device) =>
  [false, true].flatMap((persistent) =>
    (['bios', 'uefi'] as const).map((mode) => ({ device, persistent, mode })),
  ),
);

describe('Boot <-> boot override', () => {
  it('writing back what Redfish shows changes nothing Redfish shows, for every override IPMI can set', () => {
    for (const o of ALL) {
      const shown = bootFromOverride(o);
      expect(bootFromOverride(applyBootPatch(o, shown)), JSON.stringify(o)).toEqual(shown);
      // An empty PATCH keeps the exact machine state (an IPMI 'remote-cdrom' stays one).
      expect(applyBootPatch(o, {})).toEqual(o.device === 'none' ? { ...o, persistent: false } : o);
    }
  });

  it('every target selects its device, and reads back as itself', () => {
    for (const [target, device] of Object.entries(BOOT_TARGETS)) {
      for (const enabled of ['Once', 'Continuous'] as const) {
        const o = applyBootPatch(
          { device: 'none', persistent: false, mode: 'uefi' },
          { BootSourceOverrideTarget: target, BootSourceOverrideEnabled: enabled },
        );
        expect(o.device).toBe(device);
        expect(bootFromOverride(o)).toEqual(
          target === 'None'
            ? {
                BootSourceOverrideTarget: 'None',
                BootSourceOverrideEnabled: 'Disabled',
                BootSourceOverrideMode: 'UEFI',
              }
            : {
                BootSourceOverrideTarget: target,
                BootSourceOverrideEnabled: enabled,
                BootSourceOverrideMode: 'UEFI',
              },
        );
      }
    }
  });

  it('Disabled clears the device and keeps the firmware mode', () => {
    for (const o of ALL) {
      expect(applyBootPatch(o, { BootSourceOverrideEnabled: 'Disabled' })).toEqual({
        device: 'none',
        persistent: false,
        mode: o.mode,
      });
    }
  });
});
