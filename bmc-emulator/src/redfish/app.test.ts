import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultMachineSpec, InMemoryMachine } from '../../../vm-fleet/src/index.ts';
import { buildRedfishApp, type RedfishApp } from './app.ts';
import { RedfishServer } from './server.ts';

// biome-ignore lint/suspicious/noExplicitAny: the tests walk untyped Redfish JSON
type Doc = Record<string, any>;

const AUTH = { authorization: `Basic ${Buffer.from('admin:password').toString('base64')}` };
const SYS = '/redfish/v1/Systems/node-0';

let m: InMemoryMachine;
let app: RedfishApp;

beforeEach(() => {
  m = new InMemoryMachine({
    ...defaultMachineSpec(0),
    cpus: 6,
    memoryMiB: 12288,
    nics: [{ mac: '52:54:00:00:00:00' }, { mac: '52:54:00:00:00:01' }],
    disks: [
      { name: 'sda', sizeBytes: 40 * 1024 ** 3 },
      { name: 'sdb', sizeBytes: 2 * 1024 ** 3 },
    ],
  });
  let n = 0;
  app = buildRedfishApp({
    systems: [{ id: 'node-0', machine: m }],
    auth: { username: 'admin', password: 'password' },
    newToken: () => `token-${++n}`,
  });
});
afterEach(() => app.close());

async function req(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  payload?: object,
  headers = {},
) {
  const r = await app.inject({
    method,
    url,
    headers: { ...AUTH, ...headers },
    ...(payload ? { payload } : {}),
  });
  return {
    status: r.statusCode,
    headers: r.headers,
    body: r.body ? (r.json() as Doc) : undefined,
  };
}
const get = async (url: string) => (await req('GET', url)).body as Doc;
const firstMessage = (body: Doc | undefined) => body?.['error']['@Message.ExtendedInfo'][0].MessageId;

describe('authentication', () => {
  it('serves the root, $metadata and odata without credentials and nothing else', async () => {
    expect((await app.inject({ url: '/redfish/v1/' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/redfish/v1' })).json()['Links']['Sessions']['@odata.id']).toBe(
      '/redfish/v1/SessionService/Sessions',
    );
    const meta = await app.inject({ url: '/redfish/v1/$metadata' });
    expect(meta.headers['content-type']).toMatch(/application\/xml/);
    expect(meta.body).toContain('ComputerSystem.v1_10_0');
    expect((await app.inject({ url: '/redfish/v1/odata' })).json()['value']).toHaveLength(5);
    for (const url of [SYS, '/redfish/v1/Systems', '/redfish/v1/NoSuchThing']) {
      const r = await app.inject({ url });
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Basic/);
      expect(firstMessage(r.json())).toBe('Base.1.8.NoValidSession');
    }
    const wrong = await app.inject({
      url: SYS,
      headers: { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('logs in with a session: X-Auth-Token and Location, then DELETE logs out', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/redfish/v1/SessionService/Sessions',
      payload: { UserName: 'admin', Password: 'nope' },
    });
    expect(bad.statusCode).toBe(401);
    const login = await app.inject({
      method: 'POST',
      url: '/redfish/v1/SessionService/Sessions',
      payload: { UserName: 'admin', Password: 'password' },
    });
    expect(login.statusCode).toBe(201);
    expect(login.headers['x-auth-token']).toBe('token-1');
    expect(login.headers['location']).toBe('/redfish/v1/SessionService/Sessions/1');
    expect(login.json()['UserName']).toBe('admin');
    const tok = { 'x-auth-token': 'token-1' };
    expect((await app.inject({ url: SYS, headers: tok })).statusCode).toBe(200);
    const list = await app.inject({ url: '/redfish/v1/SessionService/Sessions', headers: tok });
    expect(list.json()['Members']).toEqual([{ '@odata.id': '/redfish/v1/SessionService/Sessions/1' }]);
    const out = await app.inject({
      method: 'DELETE',
      url: '/redfish/v1/SessionService/Sessions/1',
      headers: tok,
    });
    expect(out.statusCode).toBe(204);
    expect((await app.inject({ url: SYS, headers: tok })).statusCode).toBe(401);
    expect((await req('DELETE', '/redfish/v1/SessionService/Sessions/1')).status).toBe(404);
  });
});

describe('ComputerSystem', () => {
  it('reports the machine: power, boot override, processors, memory, identity', async () => {
    const s = await get(SYS);
    expect(s['@odata.id']).toBe(SYS);
    expect(s['@odata.type']).toMatch(/^#ComputerSystem\.v1_\d+_\d+\.ComputerSystem$/);
    expect(s['PowerState']).toBe('Off');
    expect(s['ProcessorSummary']['Count']).toBe(6);
    expect(s['MemorySummary']['TotalSystemMemoryGiB']).toBe(12);
    expect(s['Boot']).toMatchObject({
      BootSourceOverrideTarget: 'None',
      BootSourceOverrideEnabled: 'Disabled',
      BootSourceOverrideMode: 'Legacy',
    });
    expect(s['Boot']['BootSourceOverrideTarget@Redfish.AllowableValues']).toEqual(
      expect.arrayContaining(['Pxe', 'Hdd', 'Cd', 'BiosSetup', 'None']),
    );
    expect(s['Actions']['#ComputerSystem.Reset']['ResetType@Redfish.AllowableValues']).toEqual([
      'On',
      'ForceOff',
      'GracefulShutdown',
      'GracefulRestart',
      'ForceRestart',
      'Nmi',
      'PushPowerButton',
    ]);
    await m.powerOn();
    expect((await get(SYS))['PowerState']).toBe('On');
  });

  it('drives power through every reset type', async () => {
    const reset = (ResetType: unknown) => req('POST', `${SYS}/Actions/ComputerSystem.Reset`, { ResetType });
    const events: string[] = [];
    m.subscribe((e) => events.push(e.type === 'power' ? `power:${e.state}:${e.cause}` : e.type));
    expect((await reset('On')).status).toBe(204);
    expect(m.powerState()).toBe('on');
    expect((await reset('ForceRestart')).status).toBe(204);
    expect(events.filter((e) => e === 'post')).toHaveLength(2);
    expect((await reset('Nmi')).status).toBe(204);
    expect(events).toContain('nmi');
    expect((await reset('GracefulShutdown')).status).toBe(204);
    expect(m.powerState()).toBe('off');
    expect(events).toContain('power:off:soft-off');
    // An NMI needs a running machine.
    const nmiOff = await reset('Nmi');
    expect(nmiOff.status).toBe(409);
    expect(firstMessage(nmiOff.body)).toBe('Base.1.8.ResourceInUse');
    expect((await reset('PushPowerButton')).status).toBe(204);
    expect(m.powerState()).toBe('on');
    expect((await reset('GracefulRestart')).status).toBe(204);
    expect(m.powerState()).toBe('on');
    expect(events.filter((e) => e === 'power:off:soft-off')).toHaveLength(2);
    // A guest that ignores ACPI stays up: the request is accepted, nothing is faked.
    m.acpi = false;
    expect((await reset('GracefulShutdown')).status).toBe(204);
    expect(m.powerState()).toBe('on');
    expect((await reset('ForceOff')).status).toBe(204);
    expect(m.powerState()).toBe('off');

    const bogus = await reset('Explode');
    expect(bogus.status).toBe(400);
    expect(firstMessage(bogus.body)).toBe('Base.1.8.ActionParameterValueNotInList');
    const missing = await req('POST', `${SYS}/Actions/ComputerSystem.Reset`, {});
    expect(missing.status).toBe(400);
    expect(firstMessage(missing.body)).toBe('Base.1.8.ActionParameterMissing');
    expect((await req('GET', `${SYS}/Actions/ComputerSystem.Reset`)).status).toBe(405);
  });

  it('maps Boot Once/Continuous/Disabled onto the machine override shared with IPMI', async () => {
    const patch = (Boot: object, headers = {}) => req('PATCH', SYS, { Boot }, headers);
    expect((await patch({ BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' })).status).toBe(
      200,
    );
    expect(m.bootOverride()).toEqual({ device: 'pxe', persistent: false, mode: 'bios' });
    // A one-time override is consumed by the next boot and Redfish sees it cleared.
    await m.powerOn();
    expect(m.lastBootDevice).toBe('pxe');
    expect((await get(SYS))['Boot']).toMatchObject({
      BootSourceOverrideTarget: 'None',
      BootSourceOverrideEnabled: 'Disabled',
    });

    await patch({
      BootSourceOverrideTarget: 'Hdd',
      BootSourceOverrideEnabled: 'Continuous',
      BootSourceOverrideMode: 'UEFI',
    });
    expect(m.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'uefi' });
    await m.reset();
    expect(m.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'uefi' });
    // Only the mode: target and persistence stay.
    await patch({ BootSourceOverrideMode: 'Legacy' });
    expect(m.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'bios' });
    // What IPMI sets shows through Redfish.
    m.setBootOverride({ device: 'cdrom', persistent: false, mode: 'uefi' });
    expect((await get(SYS))['Boot']).toMatchObject({
      BootSourceOverrideTarget: 'Cd',
      BootSourceOverrideEnabled: 'Once',
      BootSourceOverrideMode: 'UEFI',
    });
    await patch({ BootSourceOverrideTarget: 'BiosSetup' });
    expect(m.bootOverride().device).toBe('bios');
    await patch({ BootSourceOverrideEnabled: 'Disabled' });
    expect(m.bootOverride()).toEqual({ device: 'none', persistent: false, mode: 'uefi' });
    // A target alone on a disabled override means one boot.
    await patch({ BootSourceOverrideTarget: 'Pxe' });
    expect(m.bootOverride()).toEqual({ device: 'pxe', persistent: false, mode: 'uefi' });
  });

  it('refuses bad PATCHes with Redfish errors and leaves the machine alone', async () => {
    const before = m.bootOverride();
    const cases: [object, string][] = [
      [{ Boot: { BootSourceOverrideTarget: 'Usb' } }, 'PropertyValueNotInList'],
      [{ Boot: { BootSourceOverrideEnabled: 'Sometimes' } }, 'PropertyValueNotInList'],
      [{ Boot: { BootSourceOverrideMode: 3 } }, 'PropertyValueTypeError'],
      [{ PowerState: 'On' }, 'PropertyNotWritable'],
      [{ Colour: 'blue' }, 'PropertyUnknown'],
      [{ Boot: { UefiTargetBootSourceOverride: 'x' } }, 'PropertyUnknown'],
    ];
    for (const [body, id] of cases) {
      const r = await req('PATCH', SYS, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body?.['error']['code']).toBe('Base.1.8.GeneralError');
      expect(firstMessage(r.body)).toBe(`Base.1.8.${id}`);
    }
    const malformed = await app.inject({
      method: 'PATCH',
      url: SYS,
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: '{"Boot":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(firstMessage(malformed.json())).toBe('Base.1.8.MalformedJSON');
    const xml = await app.inject({
      method: 'PATCH',
      url: SYS,
      headers: { ...AUTH, 'content-type': 'application/xml' },
      payload: '<Boot/>',
    });
    expect(xml.statusCode).toBe(415);
    expect(firstMessage(xml.json())).toBe('Base.1.8.UnsupportedMediaType');
    expect(m.bootOverride()).toEqual(before);
    expect((await req('DELETE', SYS)).status).toBe(405);
    expect((await req('DELETE', SYS)).headers['allow']).toBe('GET, PATCH, HEAD');
    const nf = await req('GET', '/redfish/v1/Systems/node-9');
    expect(nf.status).toBe(404);
    expect(firstMessage(nf.body)).toBe('Base.1.8.ResourceNotFound');
  });

  it('checks If-Match against the current ETag (412 on mismatch)', async () => {
    const r = await req('GET', SYS);
    const etag = r.headers['etag'] as string;
    expect(etag).toMatch(/^W\/"[0-9a-f]{16}"$/);
    const stale = await req(
      'PATCH',
      SYS,
      { Boot: { BootSourceOverrideTarget: 'Pxe' } },
      { 'if-match': 'W/"0000"' },
    );
    expect(stale.status).toBe(412);
    expect(firstMessage(stale.body)).toBe('Base.1.8.PreconditionFailed');
    expect(m.bootOverride().device).toBe('none');
    const ok = await req('PATCH', SYS, { Boot: { BootSourceOverrideTarget: 'Pxe' } }, { 'if-match': etag });
    expect(ok.status).toBe(200);
    expect(ok.headers['etag']).not.toBe(etag);
    // The old tag is stale now that the resource changed; the strong form of the new one matches.
    expect((await req('PATCH', SYS, { Boot: {} }, { 'if-match': etag })).status).toBe(412);
    const strong = (ok.headers['etag'] as string).slice(2);
    expect((await req('PATCH', SYS, { Boot: {} }, { 'if-match': strong })).status).toBe(200);
    // Power changes the representation, so the ETag too.
    await m.powerOn();
    expect((await req('GET', SYS)).headers['etag']).not.toBe(ok.headers['etag']);
  });
});

describe('inventory Ironic inspects', () => {
  it('processors, storage, volumes, drives and NICs come from the machine spec', async () => {
    const procs = await get(`${SYS}/Processors`);
    expect(procs['Members@odata.count']).toBe(1);
    const cpu = await get(procs['Members'][0]['@odata.id']);
    expect(cpu).toMatchObject({
      TotalThreads: 6,
      TotalCores: 6,
      ProcessorArchitecture: 'x86',
      InstructionSet: 'x86-64',
    });

    const simple = await get((await get(`${SYS}/SimpleStorage`))['Members'][0]['@odata.id']);
    expect(simple['Devices']).toEqual([
      { Name: 'sda', CapacityBytes: 40 * 1024 ** 3, Status: { State: 'Enabled', Health: 'OK' } },
      { Name: 'sdb', CapacityBytes: 2 * 1024 ** 3, Status: { State: 'Enabled', Health: 'OK' } },
    ]);
    const storage = await get((await get(`${SYS}/Storage`))['Members'][0]['@odata.id']);
    const drives = await Promise.all(
      storage['Drives'].map((d: { '@odata.id': string }) => get(d['@odata.id'])),
    );
    expect(drives.map((d) => [d['Id'], d['CapacityBytes']])).toEqual([
      ['sda', 40 * 1024 ** 3],
      ['sdb', 2 * 1024 ** 3],
    ]);
    const vols = await get(storage['Volumes']['@odata.id']);
    const vol = await get(vols['Members'][0]['@odata.id']);
    expect(vol['CapacityBytes']).toBe(40 * 1024 ** 3);
    expect((await req('GET', `${SYS}/Storage/1/Drives/sdz`)).status).toBe(404);
    expect((await req('GET', `${SYS}/Storage/2`)).status).toBe(404);

    const nics = await get(`${SYS}/EthernetInterfaces`);
    const macs = await Promise.all(
      nics['Members'].map(async (n: { '@odata.id': string }) => await get(n['@odata.id'])),
    );
    expect(macs.map((n) => [n['MACAddress'], n['Status']])).toEqual([
      ['52:54:00:00:00:00', { State: 'Enabled', Health: 'OK' }],
      ['52:54:00:00:00:01', { State: 'Enabled', Health: 'OK' }],
    ]);
  });

  it('reports ARM for an aarch64 machine', async () => {
    const arm = new InMemoryMachine({ ...defaultMachineSpec(1), arch: 'aarch64' });
    const a = buildRedfishApp({
      systems: [{ id: 'arm', machine: arm }],
      auth: { username: 'admin', password: 'password' },
    });
    const r = await a.inject({ url: '/redfish/v1/Systems/arm/Processors/CPU0', headers: AUTH });
    expect(r.json()['ProcessorArchitecture']).toBe('ARM');
    await a.close();
  });
});

describe('Bios', () => {
  it('takes PATCHes to Settings and applies them at the next POST, whoever resets', async () => {
    const bios = await get(`${SYS}/Bios`);
    expect(bios['Attributes']).toMatchObject({ BootMode: 'Bios', NumCores: '6', QuietBoot: true });
    expect(bios['@Redfish.Settings']['SettingsObject']['@odata.id']).toBe(`${SYS}/Bios/Settings`);
    expect((await req('PATCH', `${SYS}/Bios`, { Attributes: { QuietBoot: false } })).status).toBe(405);

    const p = await req('PATCH', `${SYS}/Bios/Settings`, {
      Attributes: { ProcTurboMode: 'Disabled', QuietBoot: false },
    });
    expect(p.status).toBe(204);
    expect((await get(`${SYS}/Bios/Settings`))['Attributes']).toEqual({
      ProcTurboMode: 'Disabled',
      QuietBoot: false,
    });
    expect((await get(`${SYS}/Bios`))['Attributes']['ProcTurboMode']).toBe('Enabled');
    await m.powerOn(); // as `ipmitool power on` would: the POST applies them
    const after = await get(`${SYS}/Bios`);
    expect(after['Attributes']).toMatchObject({ ProcTurboMode: 'Disabled', QuietBoot: false });
    expect(after['@Redfish.Settings']['Time']).toMatch(/^\d{4}-/);
    expect((await get(`${SYS}/Bios/Settings`))['Attributes']).toEqual({});

    const unknown = await req('PATCH', `${SYS}/Bios/Settings`, { Attributes: { Overclock: 'Yes' } });
    expect(unknown.status).toBe(400);
    expect(firstMessage(unknown.body)).toBe('Base.1.8.PropertyUnknown');
    const typed = await req('PATCH', `${SYS}/Bios/Settings`, { Attributes: { QuietBoot: 'no' } });
    expect(firstMessage(typed.body)).toBe('Base.1.8.PropertyValueTypeError');
  });
});

describe('Managers and VirtualMedia', () => {
  it('inserts and ejects an ISO by URL and reports a boot from it', async () => {
    const mgr = await get('/redfish/v1/Managers/node-0');
    expect(mgr['Links']['ManagerForServers']).toEqual([{ '@odata.id': SYS }]);
    expect((await get(SYS))['Links']['ManagedBy']).toEqual([{ '@odata.id': '/redfish/v1/Managers/node-0' }]);
    const vm = await get(mgr['VirtualMedia']['@odata.id']);
    expect(vm['Members'].map((x: { '@odata.id': string }) => x['@odata.id'])).toEqual([
      '/redfish/v1/Managers/node-0/VirtualMedia/Cd',
      '/redfish/v1/Managers/node-0/VirtualMedia/Floppy',
    ]);
    const cd = await get('/redfish/v1/Managers/node-0/VirtualMedia/Cd');
    expect(cd).toMatchObject({
      Inserted: false,
      Image: null,
      MediaTypes: ['CD', 'DVD'],
      ConnectedVia: 'NotConnected',
    });

    const sys = app.redfish.systems.get('node-0');
    const seen: string[] = [];
    sys?.subscribe((e) => {
      if (e.type !== 'state') seen.push(e.type === 'media-boot' ? `boot:${e.image}` : e.type);
    });
    const insert = cd['Actions']['#VirtualMedia.InsertMedia']['target'];
    const iso = 'http://10.0.0.1:8080/images/deploy.iso';
    expect((await req('POST', insert, { Image: iso })).status).toBe(204);
    expect(sys?.media('Cd')).toMatchObject({ image: iso, inserted: true });
    expect(await get('/redfish/v1/Managers/node-0/VirtualMedia/Cd')).toMatchObject({
      Image: iso,
      ImageName: 'deploy.iso',
      Inserted: true,
      WriteProtected: true,
      ConnectedVia: 'URI',
    });
    const again = await req('POST', insert, { Image: iso });
    expect(again.status).toBe(409);
    const ftp = await req(
      'POST',
      '/redfish/v1/Managers/node-0/VirtualMedia/Floppy/Actions/VirtualMedia.InsertMedia',
      {
        Image: 'ftp://x/y.img',
      },
    );
    expect(firstMessage(ftp.body)).toBe('Base.1.8.ActionParameterValueFormatError');
    expect(firstMessage((await req('POST', insert, {})).body)).toBe('Base.1.8.ActionParameterMissing');
    expect(firstMessage((await req('POST', insert, { Image: 5 })).body)).toBe(
      'Base.1.8.PropertyValueTypeError',
    );

    await req('PATCH', SYS, { Boot: { BootSourceOverrideTarget: 'Cd', BootSourceOverrideEnabled: 'Once' } });
    await m.powerOn();
    expect(m.lastBootDevice).toBe('cdrom');
    expect(seen).toEqual(['media', `boot:${iso}`]);

    const eject = cd['Actions']['#VirtualMedia.EjectMedia']['target'];
    expect((await req('POST', eject, {})).status).toBe(204);
    expect(sys?.media('Cd').image).toBeNull();
    expect((await app.inject({ method: 'POST', url: eject, headers: AUTH })).statusCode).toBe(204);
    expect((await req('GET', '/redfish/v1/Managers/node-0/VirtualMedia/Usb')).status).toBe(404);
  });
});

describe('Chassis', () => {
  it('power and thermal readings follow the power state', async () => {
    const ch = await get('/redfish/v1/Chassis/node-0');
    expect(ch['Links']['ComputerSystems']).toEqual([{ '@odata.id': SYS }]);
    const off = await get(ch['Power']['@odata.id']);
    expect(off['PowerControl'][0]['PowerConsumedWatts']).toBe(0);
    expect((await get(ch['Thermal']['@odata.id']))['Fans'][0]['Reading']).toBe(0);
    await m.powerOn();
    expect((await get('/redfish/v1/Chassis/node-0'))['PowerState']).toBe('On');
    expect((await get(ch['Power']['@odata.id']))['PowerControl'][0]['PowerConsumedWatts']).toBeGreaterThan(0);
    const th = await get(ch['Thermal']['@odata.id']);
    expect(th['Fans'][0]['Reading']).toBeGreaterThan(0);
    expect(th['Temperatures'][0]['ReadingCelsius']).toBeGreaterThan(th['Temperatures'][1]['ReadingCelsius']);
  });
});

describe('service details', () => {
  it('serves a system under its UUID too, as sushy-tools does', async () => {
    const s = await get(SYS);
    const byUuid = await req('GET', `/redfish/v1/Systems/${s['UUID'].toUpperCase()}`);
    expect(byUuid.status).toBe(200);
    expect(byUuid.body?.['@odata.id']).toBe(SYS);
    const r = await req('POST', `/redfish/v1/Systems/${s['UUID']}/Actions/ComputerSystem.Reset`, {
      ResetType: 'On',
    });
    expect(r.status).toBe(204);
    expect(m.powerState()).toBe('on');
  });

  it('ResetBios makes the defaults pending until the next POST', async () => {
    await req('PATCH', `${SYS}/Bios/Settings`, { Attributes: { QuietBoot: false } });
    await m.powerOn();
    expect((await get(`${SYS}/Bios`))['Attributes']['QuietBoot']).toBe(false);
    const target = (await get(`${SYS}/Bios`))['Actions']['#Bios.ResetBios']['target'];
    expect((await req('POST', target)).status).toBe(204);
    expect((await get(`${SYS}/Bios/Settings`))['Attributes']['QuietBoot']).toBe(true);
    expect((await get(`${SYS}/Bios`))['Attributes']['QuietBoot']).toBe(false);
    await m.reset();
    expect((await get(`${SYS}/Bios`))['Attributes']['QuietBoot']).toBe(true);
  });

  it('ends a session left idle longer than SessionTimeout', async () => {
    let now = 0;
    const a = buildRedfishApp({
      systems: [{ id: 'node-0', machine: m }],
      auth: { username: 'admin', password: 'password' },
      sessionTimeoutS: 60,
      now: () => now,
    });
    const login = await a.inject({
      method: 'POST',
      url: '/redfish/v1/SessionService/Sessions',
      payload: { UserName: 'admin', Password: 'password' },
    });
    const tok = { 'x-auth-token': login.headers['x-auth-token'] as string };
    expect(
      (await a.inject({ url: '/redfish/v1/SessionService', headers: tok })).json()['SessionTimeout'],
    ).toBe(60);
    now = 50_000;
    expect((await a.inject({ url: SYS, headers: tok })).statusCode).toBe(200);
    now = 100_000; // 50 s after the last use: still alive
    expect((await a.inject({ url: SYS, headers: tok })).statusCode).toBe(200);
    now = 161_000;
    expect((await a.inject({ url: SYS, headers: tok })).statusCode).toBe(401);
    expect(a.redfish.sessions.all()).toHaveLength(0);
    await a.close();
  });
});

describe('IndicatorLED', () => {
  it('is one identify light seen from System and Chassis; a bad PATCH changes nothing', async () => {
    expect((await req('PATCH', SYS, { IndicatorLED: 'Blinking' })).status).toBe(200);
    expect((await get('/redfish/v1/Chassis/node-0'))['IndicatorLED']).toBe('Blinking');
    expect((await req('PATCH', '/redfish/v1/Chassis/node-0', { IndicatorLED: 'Off' })).status).toBe(200);
    expect((await get(SYS))['IndicatorLED']).toBe('Off');
    const bad = await req('PATCH', SYS, { IndicatorLED: 'Lit', Boot: { BootSourceOverrideTarget: 'Nope' } });
    expect(bad.status).toBe(400);
    expect((await get(SYS))['IndicatorLED']).toBe('Off');
    const worse = await req('PATCH', '/redfish/v1/Chassis/node-0', { IndicatorLED: 'Disco' });
    expect(firstMessage(worse.body)).toBe('Base.1.8.PropertyValueNotInList');
    expect(firstMessage((await req('PATCH', '/redfish/v1/Chassis/node-0', { PowerState: 'On' })).body)).toBe(
      'Base.1.8.PropertyNotWritable',
    );
  });
});

describe('RedfishSystem state for the lab store', () => {
  it('announces every change and restores from its JSON snapshot', async () => {
    const sys = app.redfish.systems.get('node-0');
    let changes = 0;
    sys?.subscribe((e) => {
      if (e.type === 'state') changes++;
    });
    await req('PATCH', `${SYS}/Bios/Settings`, { Attributes: { QuietBoot: false } });
    await req('PATCH', SYS, { IndicatorLED: 'Lit' });
    await req('POST', '/redfish/v1/Managers/node-0/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia', {
      Image: 'http://10.0.0.1/a.iso',
    });
    await req('PATCH', `${SYS}/Bios/Settings`, { Attributes: { ProcTurboMode: 'Disabled' } });
    await m.powerOn(); // applies both pending attributes
    expect(changes).toBe(5);

    const saved = JSON.parse(JSON.stringify(sys?.snapshot()));
    const again = buildRedfishApp({
      systems: [{ id: 'node-0', machine: m, restore: saved }],
      auth: { username: 'admin', password: 'password' },
    });
    const read = async (url: string) => (await again.inject({ url, headers: AUTH })).json() as Doc;
    expect((await read(`${SYS}/Bios`))['Attributes']).toMatchObject({
      QuietBoot: false,
      ProcTurboMode: 'Disabled',
    });
    expect((await read(SYS))['IndicatorLED']).toBe('Lit');
    expect((await read('/redfish/v1/Managers/node-0/VirtualMedia/Cd'))['Image']).toBe(
      'http://10.0.0.1/a.iso',
    );
    await again.close();
  });
});

describe('GracefulRestart with a guest that takes its time', () => {
  it('answers at once and powers on when the guest went down', async () => {
    /** A guest that honours ACPI after a moment, as the sim backend's shutdown delay. */
    class SlowGuest extends InMemoryMachine {
      override async softOff() {
        setTimeout(() => void this.powerOff(), 30);
        return { accepted: true };
      }
    }
    const slow = new SlowGuest(defaultMachineSpec(2));
    const a = buildRedfishApp({
      systems: [{ id: 'slow', machine: slow }],
      auth: { username: 'admin', password: 'password' },
    });
    await slow.powerOn();
    const powers: string[] = [];
    slow.subscribe((e) => {
      if (e.type === 'power') powers.push(e.state);
    });
    const r = await a.inject({
      method: 'POST',
      url: '/redfish/v1/Systems/slow/Actions/ComputerSystem.Reset',
      headers: AUTH,
      payload: { ResetType: 'GracefulRestart' },
    });
    expect(r.statusCode).toBe(204);
    expect(slow.powerState()).toBe('on');
    await new Promise((res) => setTimeout(res, 80));
    expect(powers).toEqual(['off', 'on']);
    expect(slow.powerState()).toBe('on');
    await a.close();
  });
});

describe('faults', () => {
  it('makes one system slow, flaky or unavailable while its neighbours answer', async () => {
    const other = new InMemoryMachine(defaultMachineSpec(1));
    const a = buildRedfishApp({
      systems: [
        { id: 'node-0', machine: m },
        { id: 'node-1', machine: other },
      ],
      auth: { username: 'admin', password: 'password' },
      seed: 7,
    });
    const status = async (url: string) => (await a.inject({ url, headers: AUTH })).statusCode;
    const sick = a.redfish.systems.get('node-0');
    if (sick === undefined) throw new Error('node-0 missing');

    sick.faults.unavailable = true;
    const r = await a.inject({ url: SYS, headers: AUTH });
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(firstMessage(r.json())).toBe('Base.1.8.ServiceTemporarilyUnavailable');
    expect(await status('/redfish/v1/Managers/node-0/VirtualMedia/Cd')).toBe(503);
    expect(await status('/redfish/v1/Systems/node-1')).toBe(200);
    expect(await status('/redfish/v1/Systems')).toBe(200);
    // Refused before credentials or body are looked at.
    expect((await a.inject({ url: SYS })).statusCode).toBe(503);
    const off = await a.inject({
      method: 'POST',
      url: `${SYS}/Actions/ComputerSystem.Reset`,
      headers: AUTH,
      payload: { ResetType: 'On' },
    });
    expect(off.statusCode).toBe(503);
    expect(m.powerState()).toBe('off'); // a refused request does nothing
    sick.faults.unavailable = false;

    sick.faults.errorRate = 0.5;
    const codes = [];
    for (let i = 0; i < 40; i++) codes.push(await status(SYS));
    const failed = codes.filter((c) => c === 503).length;
    expect(failed).toBeGreaterThan(8);
    expect(failed).toBeLessThan(32);
    expect(codes.filter((c) => c !== 503).every((c) => c === 200)).toBe(true);
    sick.faults.errorRate = 0;

    sick.faults.latencyMs = 60;
    const t0 = performance.now();
    expect(await status(SYS)).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    const t1 = performance.now();
    expect(await status('/redfish/v1/Systems/node-1')).toBe(200);
    expect(performance.now() - t1).toBeLessThan(55);
    await a.close();
  });
});

describe('systems enrolled and removed while serving', () => {
  it('adds and removes systems; the collection and URIs follow', async () => {
    const root = (await app.inject({ url: '/redfish/v1/' })).json() as Doc;
    expect(root).toMatchObject({ Vendor: 'bmlab', Product: 'bmlab virtual BMC' });
    expect(root['UUID']).toMatch(/^[0-9a-f-]{36}$/);
    const added = app.redfish.addSystem({
      id: 'node-7',
      machine: new InMemoryMachine(defaultMachineSpec(7)),
    });
    expect(added.id).toBe('node-7');
    expect((await get('/redfish/v1/Systems'))['Members@odata.count']).toBe(2);
    expect((await get('/redfish/v1/Managers'))['Members@odata.count']).toBe(2);
    expect((await req('GET', '/redfish/v1/Systems/node-7')).status).toBe(200);
    expect(() => app.redfish.addSystem({ id: 'node-7', machine: m })).toThrow(/duplicate system id/);
    expect(app.redfish.removeSystem('node-7')).toBe(true);
    expect(app.redfish.removeSystem('node-7')).toBe(false);
    expect((await req('GET', '/redfish/v1/Systems/node-7')).status).toBe(404);
    expect((await get('/redfish/v1/Chassis'))['Members@odata.count']).toBe(1);
  });
});

describe('RedfishServer', () => {
  it('serves over a socket and refuses a taken port', async () => {
    const opts = {
      systems: [{ id: 'node-0', machine: m }],
      auth: { username: 'admin', password: 'password' },
    };
    const a = await RedfishServer.start(opts, { port: 0 });
    try {
      expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await expect(RedfishServer.start(opts, { port: Number(new URL(a.url).port) })).rejects.toThrow(
        /EADDRINUSE/,
      );
      const r = await fetch(`${a.url}/redfish/v1/Systems/node-0`, { headers: AUTH });
      expect(r.status).toBe(200);
      expect(r.headers.get('odata-version')).toBe('4.0');
      expect(r.headers.get('etag')).toMatch(/^W\//);
    } finally {
      await a.close();
    }
  });
});

describe('SecureBoot', () => {
  it('needs UEFI, counts from the next boot, and loses enforcement without the platform key', async () => {
    const url = (await get(SYS))['SecureBoot']['@odata.id'];
    expect(await get(url)).toMatchObject({
      SecureBootEnable: false,
      SecureBootCurrentBoot: 'Disabled',
      SecureBootMode: 'DeployedMode',
    });
    const legacy = await req('PATCH', url, { SecureBootEnable: true });
    expect(legacy.status).toBe(409);
    await req('PATCH', SYS, { Boot: { BootSourceOverrideMode: 'UEFI' } });
    expect((await req('PATCH', url, { SecureBootEnable: true })).status).toBe(200);
    expect((await get(url))['SecureBootCurrentBoot']).toBe('Disabled');
    await m.powerOn();
    expect((await get(url))['SecureBootCurrentBoot']).toBe('Enabled');

    const reset = (await get(url))['Actions']['#SecureBoot.ResetKeys']['target'];
    expect((await req('POST', reset, { ResetKeysType: 'DeleteAllKeys' })).status).toBe(204);
    expect((await get(url))['SecureBootMode']).toBe('SetupMode');
    await m.reset();
    expect((await get(url))['SecureBootCurrentBoot']).toBe('Disabled');
    await req('POST', reset, { ResetKeysType: 'ResetAllKeysToDefault' });
    await m.reset();
    expect(await get(url)).toMatchObject({
      SecureBootMode: 'DeployedMode',
      SecureBootCurrentBoot: 'Enabled',
    });
    expect(firstMessage((await req('POST', reset, { ResetKeysType: 'Shred' })).body)).toBe(
      'Base.1.8.ActionParameterValueNotInList',
    );
    expect(firstMessage((await req('PATCH', url, { SecureBootMode: 'SetupMode' })).body)).toBe(
      'Base.1.8.PropertyNotWritable',
    );
  });
});
