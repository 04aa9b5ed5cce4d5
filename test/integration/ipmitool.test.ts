/**
 * The virtual BMC driven by real ipmitool (Debian's 1.8.19), as Ironic and operators drive a
 * real one: several cipher suites over RMCP+, IPMI v1.5 sessions, power, boot devices, users.
 * Every check compares ipmitool's output with the machine's actual state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, ipmitool, type LiveBmc, startBmc } from '../support/bmc.ts';

const haveIpmitool = hasCommand('ipmitool');

describe.skipIf(!haveIpmitool)('ipmitool against bmlab', () => {
  let b: LiveBmc;
  beforeAll(async () => {
    b = await startBmc();
  });
  afterAll(async () => {
    await b.close();
  });

  it('runs on the UDP addon', () => {
    expect(b.endpoint.udp).toBe('native');
  });

  it.each([[[]], [['-C', '1']], [['-C', '2']], [['-C', '3']], [['-C', '17']]])(
    'lanplus %j: power on, status, off',
    async (suite) => {
      expect((await ipmitool(b.port, [...suite, 'power', 'on'])).out).toContain(
        'Chassis Power Control: Up/On',
      );
      expect(b.machine.powerState()).toBe('on');
      expect((await ipmitool(b.port, [...suite, 'power', 'status'])).out).toContain('Chassis Power is on');
      expect((await ipmitool(b.port, [...suite, 'power', 'off'])).out).toContain(
        'Chassis Power Control: Down/Off',
      );
      expect(b.machine.powerState()).toBe('off');
      expect((await ipmitool(b.port, [...suite, 'power', 'status'])).out).toContain('Chassis Power is off');
    },
  );

  it.each([['MD5'], ['PASSWORD']])('IPMI v1.5 (-I lan -A %s): power on and status', async (auth) => {
    const lan = ['-I', 'lan', '-A', auth];
    expect((await ipmitool(b.port, [...lan, 'power', 'on'])).ok).toBe(true);
    expect(b.machine.powerState()).toBe('on');
    expect((await ipmitool(b.port, [...lan, 'chassis', 'status'])).out).toMatch(/System Power\s+: on/);
    await ipmitool(b.port, [...lan, 'power', 'off']);
    expect(b.machine.powerState()).toBe('off');
  });

  it('cycle and reset reboot a running machine; on a machine that is off they get D5h', async () => {
    await ipmitool(b.port, ['power', 'on']);
    const boots: string[] = [];
    const off = b.machine.subscribe((e) => {
      if (e.type === 'post') boots.push('post');
    });
    expect((await ipmitool(b.port, ['power', 'cycle'])).out).toContain('Chassis Power Control: Cycle');
    expect((await ipmitool(b.port, ['power', 'reset'])).out).toContain('Chassis Power Control: Reset');
    expect(boots).toEqual(['post', 'post']);
    off();
    expect((await ipmitool(b.port, ['power', 'soft'])).ok).toBe(true);
    expect(b.machine.powerState()).toBe('off'); // the in-memory guest honours ACPI
    const r = await ipmitool(b.port, ['raw', '0x00', '0x02', '0x02']);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/rsp=0xd5/);
  });

  it.each([
    ['pxe', [], 'Force PXE', 'pxe'],
    ['disk', [], 'Force Boot from default Hard-Drive', 'disk'],
    ['cdrom', [], 'Force Boot from CD/DVD', 'cdrom'],
    ['bios', [], 'Force Boot into BIOS Setup', 'bios'],
    ['pxe', ['options=persistent'], 'Force PXE', 'pxe'],
    ['disk', ['options=persistent,efiboot'], 'Force Boot from default Hard-Drive', 'disk'],
  ] as const)(
    'bootdev %s %j is kept and read back with bootparam get 5',
    async (dev, opts, label, device) => {
      expect((await ipmitool(b.port, ['chassis', 'bootdev', dev, ...opts])).out).toContain(
        `Set Boot Device to ${dev}`,
      );
      const persistent = opts.some((o) => o.includes('persistent'));
      const efi = opts.some((o) => o.includes('efiboot'));
      expect(b.machine.bootOverride()).toEqual({ device, persistent, mode: efi ? 'uefi' : 'bios' });
      const out = (await ipmitool(b.port, ['chassis', 'bootparam', 'get', '5'])).out;
      expect(out).toContain(`Boot Device Selector : ${label}`);
      expect(out).toContain(
        persistent ? 'Options apply to all future boots' : 'Options apply to only next boot',
      );
      expect(out).toContain(efi ? 'BIOS EFI boot' : 'BIOS PC Compatible (legacy) boot');
    },
  );

  it('a one-time boot device is used by the next boot and then cleared; a persistent one stays', async () => {
    await ipmitool(b.port, ['chassis', 'bootdev', 'pxe']);
    await ipmitool(b.port, ['power', 'on']);
    expect(b.machine.lastBootDevice).toBe('pxe');
    expect((await ipmitool(b.port, ['chassis', 'bootparam', 'get', '5'])).out).toContain('No override');
    await ipmitool(b.port, ['chassis', 'bootdev', 'disk', 'options=persistent']);
    await ipmitool(b.port, ['power', 'reset']);
    await ipmitool(b.port, ['power', 'reset']);
    expect(b.machine.lastBootDevice).toBe('disk');
    expect(b.machine.bootOverride().device).toBe('disk');
    await ipmitool(b.port, ['power', 'off']);
  });

  it('Ironic disables the 60 s boot-flag timeout with raw 0x00 0x08 0x03 0x08', async () => {
    expect((await ipmitool(b.port, ['raw', '0x00', '0x08', '0x03', '0x08'])).ok).toBe(true);
    expect(b.bmc.state.boot.validBitClearing).toBe(0x08);
    expect((await ipmitool(b.port, ['raw', '0x00', '0x09', '0x03', '0x00', '0x00'])).out.trim()).toBe(
      '01 03 08',
    );
  });

  it('mc info and mc guid', async () => {
    const info = (await ipmitool(b.port, ['mc', 'info'])).out;
    expect(info).toMatch(/IPMI Version\s+: 2\.0/);
    expect(info).toMatch(/Chassis Device/);
    const guid = (await ipmitool(b.port, ['mc', 'guid'])).out;
    expect(guid).toContain('GUID Encoding : IPMI');
    const g = Buffer.from(b.bmc.state.systemGuid).reverse().toString('hex');
    expect(guid.replace(/-/g, '')).toContain(g);
  });

  it('user list / set name / set password / enable / priv change who may log in', async () => {
    expect((await ipmitool(b.port, ['user', 'list', '1'])).out).toMatch(
      /2\s+admin\s+true\s+true\s+true\s+ADMINISTRATOR/,
    );
    await ipmitool(b.port, ['user', 'set', 'name', '3', 'ops']);
    await ipmitool(b.port, ['user', 'set', 'password', '3', 's3cret']);
    await ipmitool(b.port, ['user', 'enable', '3']);
    await ipmitool(b.port, ['channel', 'setaccess', '1', '3', 'privilege=3', 'ipmi=on', 'link=on']);
    const ops = ['-U', 'ops', '-P', 's3cret'];
    expect((await ipmitool(b.port, ['-L', 'OPERATOR', 'power', 'status'], ops)).ok).toBe(true);
    // Administrator was not granted: RAKP refuses the role.
    expect((await ipmitool(b.port, ['power', 'status'], ops)).ok).toBe(false);
    // USER privilege may read but not control: D4h.
    await ipmitool(b.port, ['channel', 'setaccess', '1', '3', 'privilege=2']);
    const r = await ipmitool(b.port, ['-L', 'USER', 'raw', '0x00', '0x02', '0x01'], ops);
    expect(r.out).toMatch(/rsp=0xd4/);
    expect(b.machine.powerState()).toBe('off');
    await ipmitool(b.port, ['user', 'disable', '3']);
    expect((await ipmitool(b.port, ['-L', 'USER', 'power', 'status'], ops)).ok).toBe(false);
  });

  it('a wrong password and an unknown user are refused (RMCP+ and v1.5)', async () => {
    for (const iface of [
      ['-I', 'lanplus'],
      ['-I', 'lan'],
    ]) {
      const bad = await ipmitool(b.port, [...iface, 'power', 'status'], ['-U', 'admin', '-P', 'wrong']);
      expect(bad.ok).toBe(false);
      const nobody = await ipmitool(
        b.port,
        [...iface, 'power', 'status'],
        ['-U', 'nobody', '-P', 'password'],
      );
      expect(nobody.ok).toBe(false);
    }
    // and the BMC still serves the right password afterwards
    expect((await ipmitool(b.port, ['power', 'status'])).ok).toBe(true);
  });

  it('probes and bad requests get the completion codes a real BMC gives', async () => {
    // ipmitool's PICMG and VITA discovery: invalid command.
    expect((await ipmitool(b.port, ['raw', '0x2c', '0x00', '0x00'])).out).toMatch(/rsp=0xc1/);
    expect((await ipmitool(b.port, ['raw', '0x2c', '0x3e'])).out).toMatch(/rsp=0xc1/);
    // Chassis Control with no data: request data length invalid.
    expect((await ipmitool(b.port, ['raw', '0x00', '0x02'])).out).toMatch(/rsp=0xc7/);
    // Boot parameter 0x60 does not exist: 80h parameter not supported.
    expect((await ipmitool(b.port, ['raw', '0x00', '0x09', '0x60', '0x00', '0x00'])).out).toMatch(/rsp=0x80/);
  });

  it('chassis identify, restart cause, POH counter, power policy, self test', async () => {
    expect((await ipmitool(b.port, ['chassis', 'identify', 'force'])).ok).toBe(true);
    // Get Chassis Status byte 3: 40h identify supported | 20h indefinitely on.
    expect((await ipmitool(b.port, ['raw', '0x00', '0x01'])).out.trim().split(/\s+/)[2]).toBe('60');
    await ipmitool(b.port, ['chassis', 'identify', '0']);
    await ipmitool(b.port, ['power', 'on']);
    expect((await ipmitool(b.port, ['chassis', 'restart_cause'])).out).toMatch(
      /chassis power control command/i,
    );
    expect((await ipmitool(b.port, ['chassis', 'poh'])).out).toMatch(/POH Counter\s+: 0 days, 0 hours/);
    expect((await ipmitool(b.port, ['chassis', 'policy', 'always-on'])).ok).toBe(true);
    expect((await ipmitool(b.port, ['chassis', 'status'])).out).toMatch(/Power Restore Policy : always-on/);
    expect((await ipmitool(b.port, ['mc', 'selftest'])).out).toMatch(/Selftest: passed/);
    await ipmitool(b.port, ['power', 'off']);
  });
});

describe.skipIf(!haveIpmitool)('ipmitool against bmlab on node:dgram (builds without the UDP addon)', () => {
  let b: LiveBmc;
  beforeAll(async () => {
    b = await startBmc({}, {}, 'dgram');
  });
  afterAll(async () => {
    await b.close();
  });

  it.each([[['-C', '3']], [['-C', '17']], [['-I', 'lan', '-A', 'MD5']]])(
    '%j: power on, status, bootdev pxe read back',
    async (how) => {
      expect(b.endpoint.udp).toBe('dgram');
      expect((await ipmitool(b.port, [...how, 'power', 'on'])).ok).toBe(true);
      expect(b.machine.powerState()).toBe('on');
      expect((await ipmitool(b.port, [...how, 'power', 'status'])).out).toContain('Chassis Power is on');
      expect((await ipmitool(b.port, [...how, 'chassis', 'bootdev', 'pxe'])).ok).toBe(true);
      expect((await ipmitool(b.port, [...how, 'chassis', 'bootparam', 'get', '5'])).out).toContain(
        'Force PXE',
      );
      await ipmitool(b.port, [...how, 'power', 'off']);
      expect(b.machine.powerState()).toBe('off');
    },
  );
});

describe.skipIf(!haveIpmitool)('security settings', () => {
  it('cipher suite 0 is refused unless enabled, then works', async () => {
    const closed = await startBmc();
    const open = await startBmc({ cipherSuites: [0, 3, 17] });
    try {
      expect((await ipmitool(closed.port, ['-C', '0', 'power', 'status'])).ok).toBe(false);
      expect((await ipmitool(open.port, ['-C', '0', 'power', 'status'])).out).toContain(
        'Chassis Power is off',
      );
    } finally {
      await closed.close();
      await open.close();
    }
  });

  it('with a BMC key (Kg) only consoles that know it get in', async () => {
    const b = await startBmc({ kg: 'labkey' });
    try {
      expect((await ipmitool(b.port, ['power', 'status'])).ok).toBe(false);
      expect((await ipmitool(b.port, ['-k', 'labkey', 'power', 'status'])).out).toContain(
        'Chassis Power is off',
      );
      expect((await ipmitool(b.port, ['-k', 'other', 'power', 'status'])).ok).toBe(false);
    } finally {
      await b.close();
    }
  });

  it('IPMI v1.5 authentication type none only when enabled', async () => {
    const closed = await startBmc();
    const open = await startBmc({ auth15: { none: true } });
    try {
      expect((await ipmitool(closed.port, ['-I', 'lan', '-A', 'NONE', 'power', 'status'])).ok).toBe(false);
      expect((await ipmitool(open.port, ['-I', 'lan', '-A', 'NONE', 'power', 'status'])).out).toContain(
        'Chassis Power is off',
      );
    } finally {
      await closed.close();
      await open.close();
    }
  });
});
