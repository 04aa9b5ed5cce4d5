/**
 * The virtual BMC driven by the other IPMI clients users have: FreeIPMI (ipmipower, bmc-info,
 * ipmi-chassis) over IPMI 2.0 and 1.5, and pyghmi's client (run with Debian's /usr/bin/python3,
 * which sees python3-pyghmi).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, type LiveBmc, startBmc } from '../support/bmc.ts';

const PYTHON = '/usr/bin/python3';
const havePyghmi = existsSync('/usr/lib/python3/dist-packages/pyghmi');
const pyghmiScript = fileURLToPath(new URL('../support/python/pyghmi_client.py', import.meta.url));

async function freeipmi(tool: string, port: number, args: readonly string[], driver = 'LAN_2_0') {
  const r = await execa(
    tool,
    ['-h', `127.0.0.1:${port}`, '-u', 'admin', '-p', 'password', `--driver-type=${driver}`, ...args],
    {
      reject: false,
      timeout: 20_000,
      all: true,
    },
  );
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}

describe.skipIf(!hasCommand('ipmipower'))('FreeIPMI against bmlab', () => {
  let b: LiveBmc;
  beforeAll(async () => {
    b = await startBmc({ vendor: 'dell' });
  });
  afterAll(async () => {
    await b.close();
  });

  it.each(['LAN_2_0', 'LAN'])('ipmipower over %s: on, stat, off', async (driver) => {
    expect((await freeipmi('ipmipower', b.port, ['--on'], driver)).out).toContain('127.0.0.1: ok');
    expect(b.machine.powerState()).toBe('on');
    expect((await freeipmi('ipmipower', b.port, ['--stat'], driver)).out).toContain('127.0.0.1: on');
    expect((await freeipmi('ipmipower', b.port, ['--off'], driver)).out).toContain('127.0.0.1: ok');
    expect(b.machine.powerState()).toBe('off');
  });

  it('ipmipower --reset and --cycle reboot; on a machine that is off they are refused', async () => {
    await freeipmi('ipmipower', b.port, ['--on']);
    expect((await freeipmi('ipmipower', b.port, ['--reset'])).out).toContain('ok');
    expect((await freeipmi('ipmipower', b.port, ['--cycle'])).out).toContain('ok');
    expect(b.machine.powerState()).toBe('on');
    await freeipmi('ipmipower', b.port, ['--off']);
    expect((await freeipmi('ipmipower', b.port, ['--reset'])).out).not.toContain(': ok');
  });

  it('bmc-info reports the vendor profile and the GUID', async () => {
    const r = await freeipmi('bmc-info', b.port, []);
    expect(r.out).toMatch(/Manufacturer ID\s+: Dell/);
    expect(r.out).toMatch(/IPMI Version\s+: 2\.0/);
    const guid = Buffer.from(b.bmc.state.systemGuid).reverse().toString('hex');
    expect(r.out.replace(/-/g, '').toLowerCase()).toContain(guid);
  });

  it('ipmi-chassis: status, chassis control, restart cause, power-on hours', async () => {
    expect((await freeipmi('ipmi-chassis', b.port, ['--get-chassis-status'])).out).toMatch(
      /System Power\s+: off/,
    );
    expect((await freeipmi('ipmi-chassis', b.port, ['--chassis-control=POWER-UP'])).ok).toBe(true);
    expect(b.machine.powerState()).toBe('on');
    expect((await freeipmi('ipmi-chassis', b.port, ['--get-system-restart-cause'])).out).toMatch(
      /Chassis Control command/i,
    );
    expect((await freeipmi('ipmi-chassis', b.port, ['--get-power-on-hours-counter'])).out).toMatch(
      /Power on hours\s+: 0/i,
    );
    expect((await freeipmi('ipmi-chassis', b.port, ['--chassis-control=POWER-DOWN'])).ok).toBe(true);
    expect(b.machine.powerState()).toBe('off');
  });

  it('ipmi-chassis-config writes and reads back persistent EFI boot flags', async () => {
    const set = await freeipmi('ipmi-chassis-config', b.port, [
      '--commit',
      '-e',
      'Chassis_Boot_Flags:Boot_Device=PXE',
      '-e',
      'Chassis_Boot_Flags:BIOS_Boot_Type=EFI',
      '-e',
      'Chassis_Boot_Flags:Boot_Flags_Persistent=Yes',
    ]);
    expect(set.ok).toBe(true);
    expect(b.machine.bootOverride()).toEqual({ device: 'pxe', persistent: true, mode: 'uefi' });
    const got = (
      await freeipmi('ipmi-chassis-config', b.port, ['--checkout', '--section=Chassis_Boot_Flags'])
    ).out;
    expect(got).toMatch(/^\s+Boot_Device\s+PXE$/m);
    expect(got).toMatch(/^\s+BIOS_Boot_Type\s+EFI$/m);
    expect(got).toMatch(/^\s+Boot_Flags_Persistent\s+Yes$/m);
  });

  it('a wrong password is refused', async () => {
    const r = await execa(
      'ipmipower',
      ['-h', `127.0.0.1:${b.port}`, '-u', 'admin', '-p', 'nope', '--driver-type=LAN_2_0', '--stat'],
      {
        reject: false,
        all: true,
      },
    );
    expect(r.all).toMatch(/password verification timeout|invalid|authentication/i);
  });
});

describe.skipIf(!havePyghmi)('pyghmi client against bmlab', () => {
  it('power, boot device with persistence and UEFI, device ID', async () => {
    const b = await startBmc();
    try {
      const r = await execa(
        PYTHON,
        [
          pyghmiScript,
          String(b.port),
          'power',
          'on',
          'boot-pxe-persistent-uefi',
          'bootdev',
          'info',
          'off',
          'power',
        ],
        {
          timeout: 60_000,
        },
      );
      const results = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
      expect(results[0]).toEqual({ power: { powerstate: 'off' } });
      expect(results[1]).toEqual({ on: { powerstate: 'on' } });
      expect(results[3]).toEqual({ bootdev: { bootdev: 'network', persistent: true, uefimode: true } });
      expect(b.machine.bootOverride()).toEqual({ device: 'pxe', persistent: true, mode: 'uefi' });
      expect((results[4]?.['info'] as { raw: number[] } | undefined)?.raw.slice(0, 5)).toEqual([
        0x20, 0x01, 0x01, 0x00, 0x02,
      ]);
      expect(results[6]).toEqual({ power: { powerstate: 'off' } });
      expect(b.machine.powerState()).toBe('off');
    } finally {
      await b.close();
    }
  });
});
