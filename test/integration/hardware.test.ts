/**
 * The BMC's hardware model read by the clients operators and OpenStack use: ipmitool (sdr, sensor,
 * fru, sel, lan, channel, dcmi, sol), FreeIPMI (ipmi-sensors, ipmi-fru, ipmi-sel, bmc-info) and
 * pyghmi. Values are compared with the node's spec and derived identity, not only exit codes.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandSpec, NetFn } from '../../bmc-emulator/src/index.ts';
import { hasCommand, ipmitool, type LiveBmc, startBmc } from '../support/bmc.ts';

const haveIpmitool = hasCommand('ipmitool');
const PYTHON = '/usr/bin/python3';
const havePyghmi = existsSync('/usr/lib/python3/dist-packages/pyghmi');
const pyghmiScript = fileURLToPath(new URL('../support/python/pyghmi_hardware.py', import.meta.url));

/** The hardware description the BMC derived for its node (after the first command that needed it). */
const hw = (b: LiveBmc) => {
  const d = b.bmc.state.hw.description;
  if (d === undefined) throw new Error('no hardware description yet');
  return d;
};

describe.skipIf(!haveIpmitool)('ipmitool reads the hardware model', () => {
  let b: LiveBmc;
  beforeAll(async () => {
    b = await startBmc({ vendor: 'dell' });
  });
  afterAll(async () => {
    await b.close();
  });

  it('sdr elist / sensor list follow power: fans at 0 RPM when off, spinning when on', async () => {
    const off = (await ipmitool(b.port, ['sdr', 'elist'])).out;
    expect(off).toMatch(/Fan1\s+\| 03h \| ok\s+\| 29\.1 \| 0 RPM/);
    expect(off).toMatch(/CPU Temp\s+\| 01h \| ok\s+\|\s+3\.1 \| 22 degrees C/);
    expect(off).toMatch(/ACPI State\s+\|.*S4\/S5: soft-off|ACPI State\s+\|.*S5\/G2: soft-off/);
    await b.machine.powerOn();
    const on = (await ipmitool(b.port, ['sensor', 'list'])).out;
    const rpm = Number(/^Fan1\s+\|\s+([\d.]+)\s+\| RPM\s+\| ok/m.exec(on)?.[1]);
    expect(rpm).toBeGreaterThanOrEqual(4000);
    expect(rpm).toBeLessThanOrEqual(8000); // busy after POST: fans ramped up
    expect(on).toMatch(
      /^12V\s+\| 1[12]\.\d+\s+\| Volts\s+\| ok\s+\| na\s+\| 10\.800\s+\| 11\.400\s+\| 12\.600/m,
    );
    expect(on).toMatch(/^PSU1 Status\s+\| 0x1\s+\| discrete/m);
    expect((on.match(/^Fan\d/gm) ?? []).length).toBe(hw(b).fans);
  });

  it('sensor get "CPU Temp" and sdr -v show the record and thresholds', async () => {
    await b.machine.powerOn();
    const get = (await ipmitool(b.port, ['sensor', 'get', 'CPU Temp'])).out;
    expect(get).toContain('Sensor ID              : CPU Temp (0x1)');
    expect(get).toMatch(/Sensor Reading\s+: \d+ \(\+\/- 0\) degrees C/);
    expect(get).toMatch(/Upper Critical\s+: 90\.000/);
    const v = (await ipmitool(b.port, ['sdr', '-v', 'list', 'all'])).out;
    expect(v).toMatch(/Entity ID\s+: 3\.1 \(Processor\)/);
    expect(v).toMatch(/Sensor ID\s+: Pwr Consumption/);
    expect(v).toMatch(/Device ID\s+: BMC/);
  });

  it('fru print shows the node: manufacturer, product, serials, asset tag, and the spec', async () => {
    const out = (await ipmitool(b.port, ['fru', 'print'])).out;
    const d = hw(b);
    expect(out).toContain(`Product Manufacturer  : Dell Inc.`);
    expect(out).toContain(`Product Name          : PowerEdge R640`);
    expect(out).toContain(`Product Serial        : ${d.productSerial}`);
    expect(out).toContain(`Board Serial          : ${d.boardSerial}`);
    expect(out).toContain(`Product Asset Tag     : node-0`);
    expect(out).toContain(`Board Extra           : CPUs ${b.machine.spec.cpus}`);
    expect(out).toContain(`Board Extra           : Memory ${b.machine.spec.memoryMiB} MiB`);
    expect(out).toContain(`Board Extra           : NIC0 ${b.machine.spec.nics[0]?.mac}`);
  });

  it('sel: power and boot events from chassis commands, add, elist with names, clear', async () => {
    await ipmitool(b.port, ['power', 'off']);
    expect((await ipmitool(b.port, ['sel', 'clear'])).ok).toBe(true);
    await ipmitool(b.port, ['chassis', 'bootdev', 'pxe']);
    await ipmitool(b.port, ['power', 'on']);
    const elist = (await ipmitool(b.port, ['sel', 'elist'])).out;
    expect(elist).toMatch(/Event Logging Disabled SEL \| Log area reset\/cleared \| Asserted/);
    expect(elist).toMatch(/System Event System Event \| System Reconfigured \| Asserted/);
    expect(elist).toMatch(/System ACPI Power State ACPI State \| S0\/G0: working \| Asserted/);
    expect(elist).toMatch(/OS Boot OS Boot \| PXE boot completed \| Asserted/);
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-sel-'));
    try {
      const file = join(dir, 'events');
      // ipmitool's `sel add` format: EvM rev, sensor type, sensor number, event dir/type, data 1-3.
      writeFileSync(file, '0x04 0x01 0x01 0x01 0x59 0x5b 0x5a\n');
      expect((await ipmitool(b.port, ['sel', 'add', file])).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true });
    }
    // A record from ipmitool carries its own generator ID, so no SDR names its sensor.
    expect((await ipmitool(b.port, ['sel', 'elist'])).out).toMatch(
      /Temperature #0x01 \| Upper Critical going high \| Asserted/,
    );
    // A crossing the BMC saw itself is logged against its own sensor, with reading and threshold.
    await ipmitool(b.port, ['power', 'on']);
    b.bmc.state.hw.sensorOverrides['CPU Temp'] = 91;
    try {
      expect((await ipmitool(b.port, ['sel', 'elist'])).out).toMatch(
        /Temperature CPU Temp \| Upper Critical going high \| Asserted \| Reading 91 > Threshold 90 degrees C/,
      );
    } finally {
      delete b.bmc.state.hw.sensorOverrides['CPU Temp'];
    }
    const info = (await ipmitool(b.port, ['sel', 'info'])).out;
    expect(info).toMatch(new RegExp(`Entries\\s+: ${b.bmc.state.hw.sel.entries.length}\\b`));
    expect(info).toMatch(/Overflow\s+: false/);
    expect((await ipmitool(b.port, ['sel', 'clear'])).out).toContain('Clearing SEL');
    const after = (await ipmitool(b.port, ['sel', 'list'])).out.trim().split('\n');
    expect(after).toHaveLength(1);
    expect(after[0]).toContain('Log area reset/cleared');
  });

  it('lan print 1, channel info, dcmi power reading, sol info', async () => {
    const lan = (await ipmitool(b.port, ['lan', 'print', '1'])).out;
    expect(lan).toMatch(/IP Address\s+: 127\.0\.0\.1/);
    expect(lan).toMatch(/IP Address Source\s+: Static Address/);
    expect(lan).toMatch(new RegExp(`MAC Address\\s+: ${b.bmc.state.hw.lan.mac}`));
    expect(lan).toMatch(/RMCP\+ Cipher Suites\s+: 1,2,3,15,16,17/);
    expect(lan).toMatch(/Cipher Suite Priv Max\s+: aaaaaaXXXXXXXXX/);
    expect((await ipmitool(b.port, ['channel', 'info'])).out).toMatch(/Channel Medium Type\s+: 802\.3 LAN/);
    expect((await ipmitool(b.port, ['user', 'list', '1'])).out).toMatch(
      /^2\s+admin\s+true\s+true\s+true\s+ADMINISTRATOR/m,
    );
    await ipmitool(b.port, ['power', 'on']);
    const on = Number(
      /Instantaneous power reading:\s+(\d+) Watts/.exec(
        (await ipmitool(b.port, ['dcmi', 'power', 'reading'])).out,
      )?.[1],
    );
    expect(on).toBeGreaterThan(80);
    await ipmitool(b.port, ['power', 'off']);
    expect((await ipmitool(b.port, ['dcmi', 'power', 'reading'])).out).toMatch(
      /Instantaneous power reading:\s+0 Watts/,
    );
    const sol = (await ipmitool(b.port, ['sol', 'info', '1'])).out;
    expect(sol).toMatch(/Enabled\s+: true/);
    expect(sol).toMatch(/Volatile Bit Rate \(kbps\)\s+: 115\.2/);
    expect(sol).toMatch(/Payload Port\s+: 623/);
  });

  it('dcmi power limit: none at first (80h with the record), then set from scratch and read back', async () => {
    expect(b.bmc.state.hw.dcmi.limitSet).toBe(false);
    expect((await ipmitool(b.port, ['dcmi', 'power', 'get_limit'])).out).toMatch(
      /Current Limit State:\s+No Active Power Limit/,
    );
    await ipmitool(b.port, ['dcmi', 'power', 'set_limit', 'limit', '275']);
    const after = (await ipmitool(b.port, ['dcmi', 'power', 'get_limit'])).out;
    expect(after).toMatch(/Current Limit State:\s+Power Limit Active/);
    expect(after).toMatch(/Power Limit:\s+275\s+Watts/);
    expect(b.bmc.state.hw.dcmi.limitWatts).toBe(275);
  });

  it('sdr elist: every Get SDR is answered at the size ipmitool asks, no retries, no re-reads', async () => {
    await b.machine.powerOn();
    const reads: { id: number; offset: number; count: number }[] = [];
    const bodyLength = new Map<number, number>();
    let readings = 0;
    const getSdr = b.bmc.registry.lookup(NetFn.Storage, 0x23) as CommandSpec;
    const getReading = b.bmc.registry.lookup(NetFn.SensorEvent, 0x2d) as CommandSpec;
    b.bmc.registry.setHandler({
      ...getSdr,
      handle: async (d, ctx) => {
        const out = await getSdr.handle(d, ctx);
        const id = d.readUInt16LE(2);
        reads.push({ id, offset: d[4] as number, count: d[5] as number });
        if (d[4] === 0) bodyLength.set(id, out[6] as number);
        return out;
      },
    });
    b.bmc.registry.setHandler({
      ...getReading,
      handle: (d, ctx) => {
        readings++;
        return getReading.handle(d, ctx);
      },
    });
    const handle = b.bmc.handle.bind(b.bmc);
    let datagrams = 0;
    b.bmc.handle = (p) => {
      datagrams++;
      return handle(p);
    };
    try {
      expect((await ipmitool(b.port, ['sdr', 'elist'])).ok).toBe(true);
    } finally {
      b.bmc.handle = handle;
      b.bmc.registry.setHandler(getSdr);
      b.bmc.registry.setHandler(getReading);
    }
    const keys = reads.map((r) => `${r.id}@${r.offset}`);
    expect(new Set(keys).size).toBe(keys.length);
    // ipmitool reads a 5-byte header, then the body in chunks of at most 32 bytes: the minimum.
    let expected = 0;
    for (const len of bodyLength.values()) expected += 1 + Math.ceil(len / 32);
    expect(bodyLength.size).toBe(24);
    expect(reads.length).toBe(expected);
    expect(readings).toBeLessThanOrEqual(22);
    console.log(
      `sdr elist: ${datagrams} datagrams in, ${reads.length} Get SDR for ${bodyLength.size} records, ${readings} Get Sensor Reading`,
    );
  });
});

async function freeipmi(tool: string, port: number, args: readonly string[]) {
  const r = await execa(
    tool,
    ['-h', `127.0.0.1:${port}`, '-u', 'admin', '-p', 'password', '--driver-type=LAN_2_0', ...args],
    { reject: false, timeout: 30_000, all: true },
  );
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}

describe.skipIf(!hasCommand('ipmi-sensors'))('FreeIPMI reads the hardware model', () => {
  let b: LiveBmc;
  let cache: string;
  beforeAll(async () => {
    b = await startBmc({ vendor: 'hpe' });
    cache = mkdtempSync(join(tmpdir(), 'bmlab-sdr-cache-'));
  });
  afterAll(async () => {
    await b.close();
    rmSync(cache, { recursive: true });
  });

  it('ipmi-sensors: readings by type with their units and states', async () => {
    await b.machine.powerOn();
    const r = await freeipmi('ipmi-sensors', b.port, [`--sdr-cache-directory=${cache}`]);
    expect(r.ok).toBe(true);
    expect(r.out).toMatch(/CPU Temp\s+\| Temperature\s+\| \d+\.00\s+\| C\s+\| 'OK'/);
    expect(r.out).toMatch(/Fan1\s+\| Fan\s+\| \d{4}\.00\s+\| RPM\s+\| 'OK'/);
    expect(r.out).toMatch(/PSU1 Status\s+\| Power Supply\s+\| N\/A\s+\| N\/A\s+\| 'Presence detected'/);
  });

  it('ipmi-fru and bmc-info: the node identity', async () => {
    const fru = await freeipmi('ipmi-fru', b.port, [`--sdr-cache-directory=${cache}`]);
    expect(fru.out).toContain('FRU Product Manufacturer Name: HPE');
    expect(fru.out).toContain('FRU Product Name: ProLiant DL360 Gen10');
    expect(fru.out).toContain(`FRU Product Serial Number: ${hw(b).productSerial}`);
    expect(fru.out).toContain('FRU Product Asset Tag: node-0');
    expect(fru.out).toContain(
      `FRU Board Custom Info: Disk vda ${Math.round((b.machine.spec.disks[0]?.sizeBytes ?? 0) / 1024 ** 3)} GiB`,
    );
    const info = await freeipmi('bmc-info', b.port, []);
    expect(info.out).toMatch(
      /Manufacturer ID\s+: Hewlett Packard Enterprise|Manufacturer ID\s+: Hewlett-Packard/,
    );
    expect(info.out).toMatch(/FRU Inventory Device\s+: supported/);
    expect(info.out).toMatch(/SEL Device\s+: supported/);
  });

  it('ipmi-sel lists what the BMC logged, by sensor name', async () => {
    await b.machine.powerOff();
    await b.machine.powerOn();
    const r = await freeipmi('ipmi-sel', b.port, [`--sdr-cache-directory=${cache}`]);
    expect(r.ok).toBe(true);
    expect(r.out).toMatch(/ACPI State\s+\| System ACPI Power State\s+\| S0\/G0\n/);
    expect(r.out).toMatch(/Sys Restart\s+\| System Boot Initiated\s+\| System Restart/);
  });
});

describe.skipIf(!havePyghmi)('pyghmi reads the hardware model', () => {
  let b: LiveBmc;
  beforeAll(async () => {
    b = await startBmc({ vendor: 'supermicro' });
  });
  afterAll(async () => {
    await b.close();
  });

  const run = async (...actions: string[]) => {
    const r = await execa(PYTHON, [pyghmiScript, String(b.port), ...actions], { timeout: 60_000 });
    return Object.assign(
      {},
      ...r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    );
  };

  it('get_sensor_data, get_inventory and get_health agree with the node', async () => {
    await b.machine.powerOn();
    const out = await run('sensors', 'inventory', 'health');
    const fan = out.sensors.find((s: { name: string }) => s.name === 'Fan1');
    expect(fan).toMatchObject({ units: 'RPM', health: 0 });
    expect(fan.value).toBeGreaterThan(4000);
    const psu = out.sensors.find((s: { name: string }) => s.name === 'PSU1 Status');
    expect(psu.states).toEqual(['Present']);
    const sys = out.inventory.System;
    expect(sys).toMatchObject({
      Manufacturer: 'Supermicro',
      'Product name': 'SYS-1029P-WTR',
      'Serial Number': hw(b).productSerial,
      'Asset Number': 'node-0',
    });
    expect(sys.board_extra).toContain(`CPUs ${b.machine.spec.cpus}`);
    expect(out.health).toEqual({ health: 0, bad: [] });
  });

  it('a failed fan makes get_health critical', async () => {
    await b.machine.powerOn();
    b.bmc.state.hw.sensorOverrides.Fan2 = 2;
    try {
      const out = await run('health');
      expect(out.health.health).toBeGreaterThan(0);
      expect(out.health.bad.map((r: { name: string }) => r.name)).toEqual(['Fan2']);
    } finally {
      delete b.bmc.state.hw.sensorOverrides.Fan2;
    }
  });
});
