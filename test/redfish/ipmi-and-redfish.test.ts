/**
 * IPMI and Redfish on one machine: what real ipmitool sets through the lead BMC is what Redfish
 * reports, and the other way round (power and the boot override with its persistence and mode).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildRedfishApp,
  type RedfishApp,
  redfishOptionsFromBmc,
} from '../../bmc-emulator/src/redfish/index.ts';
import { hasCommand, ipmitool, type LiveBmc, startBmc } from '../support/bmc.ts';

// biome-ignore lint/suspicious/noExplicitAny: the test walks untyped Redfish JSON
type Doc = Record<string, any>;

const AUTH = { authorization: `Basic ${Buffer.from('admin:password').toString('base64')}` };
const SYS = '/redfish/v1/Systems/node-0';

describe.skipIf(!hasCommand('ipmitool'))('IPMI and Redfish share the machine', () => {
  let live: LiveBmc;
  let app: RedfishApp;
  beforeAll(async () => {
    live = await startBmc();
    app = buildRedfishApp({
      systems: [redfishOptionsFromBmc(live.bmc)],
      auth: { username: 'admin', password: 'password' },
    });
  });
  afterAll(async () => {
    await app?.close();
    await live?.close();
  });

  const system = async () => (await app.inject({ url: SYS, headers: AUTH })).json() as Doc;
  const patch = (payload: object) => app.inject({ method: 'PATCH', url: SYS, headers: AUTH, payload });
  const reset = (ResetType: string) =>
    app.inject({
      method: 'POST',
      url: `${SYS}/Actions/ComputerSystem.Reset`,
      headers: AUTH,
      payload: { ResetType },
    });

  it('power: ipmitool on -> Redfish On; Redfish ForceOff -> ipmitool off', async () => {
    expect((await ipmitool(live.port, ['power', 'on'])).ok).toBe(true);
    expect((await system())['PowerState']).toBe('On');
    expect((await reset('ForceOff')).statusCode).toBe(204);
    expect((await ipmitool(live.port, ['power', 'status'])).out).toMatch(/Chassis Power is off/);
  });

  it('boot override: persistence and firmware mode cross both ways', async () => {
    expect((await ipmitool(live.port, ['chassis', 'bootdev', 'pxe', 'options=persistent,efiboot'])).ok).toBe(
      true,
    );
    expect((await system())['Boot']).toMatchObject({
      BootSourceOverrideTarget: 'Pxe',
      BootSourceOverrideEnabled: 'Continuous',
      BootSourceOverrideMode: 'UEFI',
    });
    const r = await patch({
      Boot: {
        BootSourceOverrideTarget: 'Hdd',
        BootSourceOverrideEnabled: 'Once',
        BootSourceOverrideMode: 'Legacy',
      },
    });
    expect(r.statusCode).toBe(200);
    const flags = (await ipmitool(live.port, ['chassis', 'bootparam', 'get', '5'])).out;
    expect(flags).toMatch(/Force Boot from default Hard-Drive/);
    expect(flags).toMatch(/Options apply to only next boot/);
    expect(flags).toMatch(/BIOS PC Compatible \(legacy\) boot/);
    // The one-time override is consumed by the boot Redfish starts; IPMI sees it gone.
    await reset('On');
    expect(live.machine.lastBootDevice).toBe('disk');
    expect((await ipmitool(live.port, ['chassis', 'bootparam', 'get', '5'])).out).toMatch(/No override/);
  });

  it('identity and sensors: Redfish reports what ipmitool fru, mc guid and sdr report', async () => {
    await live.machine.powerOn();
    const sys = await system();
    const fru = (await ipmitool(live.port, ['fru'])).out;
    const field = (name: string) => new RegExp(`${name}\\s*:\\s*(.+)`).exec(fru)?.[1]?.trim();
    expect(sys['Manufacturer']).toBe(field('Product Manufacturer'));
    expect(sys['Model']).toBe(field('Product Name'));
    expect(sys['SerialNumber']).toBe(field('Product Serial'));
    const guid = /System GUID\s*:\s*(\S+)/.exec((await ipmitool(live.port, ['mc', 'guid'])).out)?.[1];
    expect(sys['UUID']).toBe(guid);

    const sdr = new Map<string, number>();
    for (const line of (await ipmitool(live.port, ['sdr'])).out.split('\n')) {
      const m = /^(.+?)\s*\|\s*([\d.]+) (degrees C|RPM|Volts|Watts)/.exec(line);
      if (m) sdr.set(m[1] as string, Number(m[2]));
    }
    const get = async (url: string) => (await app.inject({ url, headers: AUTH })).json() as Doc;
    const thermal = await get('/redfish/v1/Chassis/node-0/Thermal');
    const power = await get('/redfish/v1/Chassis/node-0/Power');
    const redfish = new Map<string, number>([
      ...thermal['Temperatures'].map((t: Doc) => [t['Name'], t['ReadingCelsius']] as const),
      ...thermal['Fans'].map((f: Doc) => [f['Name'], f['Reading']] as const),
      ...power['Voltages'].map((v: Doc) => [v['Name'], v['ReadingVolts']] as const),
      ['Pwr Consumption', power['PowerControl'][0]['PowerConsumedWatts']],
    ]);
    expect([...redfish.keys()].sort()).toEqual([...sdr.keys()].sort());
    // Both read the same drifting model a moment apart: within one step of each sensor.
    for (const [name, v] of sdr) {
      const step = name.startsWith('Fan') ? 100 : name.endsWith('V') || name === 'VBAT' ? 0.1 : 2;
      expect(Math.abs((redfish.get(name) as number) - v), name).toBeLessThanOrEqual(step);
    }
    await live.machine.powerOff();
    const off = await get('/redfish/v1/Chassis/node-0/Thermal');
    expect(off['Fans'].every((f: Doc) => f['Status']['State'] === 'StandbyOffline')).toBe(true);
  });
});
