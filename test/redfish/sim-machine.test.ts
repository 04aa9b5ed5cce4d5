/**
 * The Redfish service on the sim backend, whose power and boot take time: a one-time override is
 * consumed when the boot really starts, a button press during POST is lost (no ACPI there), and a
 * machine booting from Cd with an inserted ISO is announced to the lab.
 */
import { afterEach, expect, it } from 'vitest';
import { buildRedfishApp, type RedfishApp } from '../../bmc-emulator/src/redfish/index.ts';
import { defaultMachineSpec, type MachineEvent, SimMachine } from '../../vm-fleet/src/index.ts';

const AUTH = { authorization: `Basic ${Buffer.from('admin:password').toString('base64')}` };
const SYS = '/redfish/v1/Systems/node-5';
let app: RedfishApp | undefined;
let machine: SimMachine | undefined;
afterEach(async () => {
  await machine?.powerOff();
  await app?.close();
});

function next(m: SimMachine, pred: (e: MachineEvent) => boolean, timeoutMs = 5_000): Promise<MachineEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      stop();
      reject(new Error('timed out waiting for a machine event'));
    }, timeoutMs);
    const stop = m.subscribe((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      stop();
      resolve(e);
    });
  });
}

it('boots the override once, loses the button press during POST, announces a virtual CD boot', async () => {
  const m = new SimMachine({ spec: defaultMachineSpec(5), timeScale: 0.01, seed: 5 });
  machine = m;
  const a = buildRedfishApp({
    systems: [{ id: 'node-5', machine: m }],
    auth: { username: 'admin', password: 'password' },
  });
  app = a;
  const call = (method: 'GET' | 'PATCH' | 'POST', url: string, payload?: object) =>
    a.inject({ method, url, headers: AUTH, ...(payload ? { payload } : {}) });

  await call('PATCH', SYS, { Boot: { BootSourceOverrideTarget: 'Cd', BootSourceOverrideEnabled: 'Once' } });
  await call('POST', '/redfish/v1/Managers/node-5/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia', {
    Image: 'http://10.0.0.1:8080/node-5.iso',
  });
  const media: string[] = [];
  a.redfish.systems.get('node-5')?.subscribe((e) => {
    if (e.type === 'media-boot') media.push(e.image);
  });
  const source = next(m, (e) => e.type === 'boot-source');
  expect((await call('POST', `${SYS}/Actions/ComputerSystem.Reset`, { ResetType: 'On' })).statusCode).toBe(
    204,
  );
  expect((await call('GET', SYS)).json()['PowerState']).toBe('On');
  // POST has no ACPI handler: the press is accepted by the BMC and ignored by the machine.
  await call('POST', `${SYS}/Actions/ComputerSystem.Reset`, { ResetType: 'GracefulShutdown' });
  expect(m.powerState()).toBe('on');
  expect(await source).toMatchObject({ device: 'cdrom', override: true });
  expect(media).toEqual(['http://10.0.0.1:8080/node-5.iso']);
  expect((await call('GET', SYS)).json()['Boot']).toMatchObject({
    BootSourceOverrideTarget: 'None',
    BootSourceOverrideEnabled: 'Disabled',
  });
  await call('POST', `${SYS}/Actions/ComputerSystem.Reset`, { ResetType: 'ForceOff' });
  expect((await call('GET', SYS)).json()['PowerState']).toBe('Off');
});
