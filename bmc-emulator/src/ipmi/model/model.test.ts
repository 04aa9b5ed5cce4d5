/**
 * The hardware model's pure parts: the FRU, SDR and SEL codecs (annotated bytes, round trips,
 * checksums) and the sensor model (follows power, drifts deterministically, stays in bounds).
 */
import { describe, expect, it } from 'vitest';
import { defaultMachineSpec } from '../../../../vm-fleet/src/index.ts';
import { VENDOR_PROFILES } from '../state.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { decodeFru, encodeFru, fruInfoFor, zeroChecksum } from './fru.ts';
import { describeHardware } from './hardware.ts';
import { buildSdrRepository, decodeSdr, encodeCompactSensor, encodeFullSensor, SdrType } from './sdr.ts';
import {
  addSelEvent,
  appendSel,
  clearSel,
  createSelLog,
  decodeSelRecord,
  deleteSel,
  encodeSelEvent,
} from './sel.ts';
import { type AnalogSensor, type DiscreteSensor, readSensor, sensorsFor, toUnits } from './sensors.ts';
import { adoptLanAddress, createHardwareState } from './state.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const dell = VENDOR_PROFILES.dell as (typeof VENDOR_PROFILES)['generic'] & object;

describe('hardware description', () => {
  it('is derived from the spec and stable per node name; other nodes differ', () => {
    const spec = { ...defaultMachineSpec(3), cpus: 16, memoryMiB: 65536 };
    const a = describeHardware(spec, dell);
    expect(describeHardware(spec, dell)).toEqual(a);
    expect(a).toMatchObject({
      node: 'node-3',
      cpus: 16,
      memoryMiB: 65536,
      manufacturer: 'Dell Inc.',
      fans: 6,
    });
    expect(a.productSerial).toMatch(/^[0-9B-Z]{7}$/); // a Dell service tag
    const b = describeHardware(defaultMachineSpec(4), dell);
    expect(b.productSerial).not.toBe(a.productSerial);
    expect(b.seed).not.toBe(a.seed);
  });
});

describe('LAN address', () => {
  it('is the listening address unless configured; a lab address gets a /24 and its .1 gateway', () => {
    const lan = createHardwareState({ name: 'n' }).lan;
    expect(lan.ip).toBe('');
    adoptLanAddress(lan, '10.0.0.5');
    expect(lan).toMatchObject({ ip: '10.0.0.5', netmask: '255.255.255.0', gateway: '10.0.0.1' });
    adoptLanAddress(lan, '127.0.0.1');
    expect(lan.ip).toBe('10.0.0.5');
    const configured = createHardwareState({ name: 'n', address: '127.0.0.2' }).lan;
    adoptLanAddress(configured, '10.0.0.5');
    expect(configured).toMatchObject({ ip: '127.0.0.2', netmask: '255.0.0.0', gateway: '0.0.0.0' });
    expect(createHardwareState({ name: 'n' }).lan.mac).toBe(lan.mac);
  });

  it('a SEL larger than its 16-bit record IDs allow is a configuration error', () => {
    expect(() => createHardwareState({ name: 'n', selCapacity: 0x10000 })).toThrow(/selCapacity/);
    expect(createHardwareState({ name: 'n', selCapacity: 0xfffe }).sel.capacity).toBe(0xfffe);
  });
});

describe('FRU codec (FRU spec v1.0)', () => {
  const hw = describeHardware(defaultMachineSpec(0), dell);
  const img = encodeFru(fruInfoFor(hw));

  it('writes a common header whose offsets point at zero-sum areas', () => {
    // version 01h | internal use 0 | chassis @8 | board | product | multirecord 0 | pad | checksum
    expect(img[0]).toBe(0x01);
    expect(img[1]).toBe(0x00);
    expect(img[2]).toBe(0x01);
    expect(zeroChecksum(img.subarray(0, 8))).toBe(0);
    for (const at of [2, 3, 4]) {
      const start = (img[at] as number) * 8;
      const len = (img[start + 1] as number) * 8;
      expect(len % 8).toBe(0);
      expect(zeroChecksum(img.subarray(start, start + len))).toBe(0);
    }
  });

  it('round-trips every field, and a corrupted byte is caught by its checksum', () => {
    expect(decodeFru(img)).toEqual(fruInfoFor(hw));
    expect(decodeFru(img).board.extra).toContain('Memory 4096 MiB');
    const bad = Buffer.from(img);
    const at = (img[4] as number) * 8 + 5;
    bad[at] = (bad[at] as number) ^ 0x01;
    expect(() => decodeFru(bad)).toThrow(/checksum/);
  });
});

describe('SDR codec (IPMI v2.0 chapter 43)', () => {
  const hw = describeHardware(defaultMachineSpec(0), dell);
  const sensors = sensorsFor(hw);
  const cpu = sensors.find((s) => s.name === 'CPU Temp') as AnalogSensor;
  const psu = sensors.find((s) => s.name === 'PSU1 Status') as DiscreteSensor;

  it('encodes a full sensor record field by field (table 43-1)', () => {
    const w = new Writer();
    encodeFullSensor(7, cpu, w);
    const b = w.finish();
    expect(hex(b.subarray(0, 5))).toBe('0700510133'); // record 7, SDR 51h, type 01h, 51 body bytes
    expect(hex(b.subarray(5, 14))).toBe(
      [
        '20', // owner: BMC slave address
        '00', // owner LUN
        '01', // sensor number
        '03', // entity: processor
        '01', // instance
        '7f', // initialisation
        '48', // capabilities: auto re-arm, thresholds readable and settable
        '01', // sensor type: temperature
        '01', // event/reading type: threshold
      ].join(''),
    );
    expect(b[21]).toBe(0x01); // byte 22, units 2: degrees C
    expect(b[24]).toBe(1); // byte 25, M = 1
    expect(hex(b.subarray(36, 42))).toBe('5f5a55000000'); // UNR 95, UC 90, UNC 85, no lower
    expect(b[47]).toBe(0xc8); // ID: 8-bit ASCII, 8 bytes
    expect(b.subarray(48).toString()).toBe('CPU Temp');
    expect(b.length).toBe(5 + 0x33);
  });

  it('encodes a compact record and decodes both back', () => {
    const w = new Writer();
    encodeCompactSensor(9, psu, w);
    const r = new Reader(w.finish());
    expect(decodeSdr(r)).toEqual({
      recordId: 9,
      type: SdrType.Compact,
      length: 27 + 'PSU1 Status'.length,
      sensor: psu.number,
      entity: 0x0a,
      name: 'PSU1 Status',
    });
    expect(r.remaining).toBe(0);
  });

  it('builds the repository: MC locator, FRU locator, then one record per sensor, IDs from 1', () => {
    const w = new Writer();
    const starts = buildSdrRepository(hw, sensors, w);
    const r = new Reader(w.finish());
    const all = starts.slice(0, -1).map(() => decodeSdr(r));
    expect(all.map((x) => x.recordId)).toEqual(all.map((_x, i) => i + 1));
    expect(all[0]).toMatchObject({ type: SdrType.McLocator, name: 'BMC' });
    expect(all[1]).toMatchObject({ type: SdrType.FruLocator, name: 'PowerEdge R640' });
    expect(all.slice(2).map((x) => x.name)).toEqual(sensors.map((s) => s.name));
  });
});

describe('sensor model', () => {
  const hw = describeHardware(defaultMachineSpec(0), dell);
  const sensors = sensorsFor(hw);
  const byName = (n: string) => sensors.find((s) => s.name === n) as AnalogSensor;

  it('off: fans stand still, temperatures at ambient, DC rails 0, no threshold evaluation', () => {
    expect(readSensor(byName('Fan1'), hw, false, 0, undefined)).toEqual({
      raw: 0,
      scanning: false,
      states: 0,
    });
    expect(toUnits(byName('CPU Temp'), readSensor(byName('CPU Temp'), hw, false, 0, undefined).raw)).toBe(22);
    expect(readSensor(byName('12V'), hw, false, 0, undefined).raw).toBe(0);
    expect(readSensor(byName('VBAT'), hw, false, 0, undefined).scanning).toBe(true);
  });

  it('on: plausible values that drift within bounds and repeat for the same time', () => {
    const fan = byName('Fan2');
    const seen = new Set<number>();
    for (let t = 0; t < 600_000; t += 5_000) {
      const r = readSensor(fan, hw, true, t, undefined);
      expect(r.states).toBe(0);
      expect(Math.abs(r.raw - fan.onRaw)).toBeLessThanOrEqual(fan.drift);
      seen.add(r.raw);
      expect(readSensor(fan, hw, true, t, undefined)).toEqual(r);
    }
    expect(seen.size).toBeGreaterThan(1);
    expect(toUnits(byName('12V'), readSensor(byName('12V'), hw, true, 0, undefined).raw)).toBeCloseTo(12, 0);
  });

  it('an override past a threshold sets its status bits (table 35-15)', () => {
    expect(readSensor(byName('CPU Temp'), hw, true, 0, 91).states).toBe(0x08 | 0x10);
    expect(readSensor(byName('Fan1'), hw, true, 0, 4).states).toBe(0x01 | 0x02);
  });
});

describe('SEL (IPMI v2.0 chapters 31-32)', () => {
  it('encodes a system event record field by field and decodes it', () => {
    const rec = encodeSelEvent(0x0102, 0x5f000000, {
      sensorType: 0x22,
      sensorNumber: 0x0e,
      eventType: 0x6f,
      data: [0x00, 0xff, 0xff],
    });
    expect(hex(Uint8Array.from(rec))).toBe(
      [
        '0201', // record ID
        '02', // system event record
        '0000005f', // timestamp (LE)
        '2000', // generator: BMC
        '04', // EvM revision
        '22', // sensor type: ACPI power state
        '0e', // sensor number
        '6f', // assertion, sensor-specific
        '00ffff', // offset 0 (S0/G0), no extra data
      ].join(''),
    );
    expect(decodeSelRecord(new Reader(Buffer.from(rec)))).toMatchObject({
      id: 0x0102,
      timestamp: 0x5f000000,
      event: { sensorType: 0x22, sensorNumber: 0x0e, deassertion: false },
    });
  });

  it('assigns IDs, timestamps event records, stops when full with the overflow flag, clears', () => {
    const log = createSelLog(3);
    const e = { sensorType: 1, sensorNumber: 1, eventType: 1, data: [0x57, 91, 85] as const };
    expect(addSelEvent(log, e, 100)).toBe(1);
    // An OEM non-timestamped record (E0h+) keeps its bytes.
    const oem = [0, 0, 0xe0, ...Array.from({ length: 13 }, (_x, i) => i)];
    expect(appendSel(log, oem, 200)).toBe(2);
    expect(log.entries[1]?.bytes.slice(3)).toEqual(oem.slice(3));
    expect(addSelEvent(log, e, 300)).toBe(3);
    expect(addSelEvent(log, e, 400)).toBeUndefined();
    expect(log.overflow).toBe(true);
    expect(deleteSel(log, 0xffff, 500)).toBe(3);
    expect(addSelEvent(log, e, 600)).toBe(4);
    expect(log.lastAddition).toBe(600);
    // After FFFEh the IDs wrap to 1 and skip those still in use.
    log.nextId = 0xfffe;
    expect(addSelEvent(log, e, 650)).toBeUndefined(); // still full
    deleteSel(log, 1, 650);
    deleteSel(log, 2, 650);
    expect(addSelEvent(log, e, 650)).toBe(0xfffe);
    expect(addSelEvent(log, e, 650)).toBe(1);
    expect(log.entries.map((x) => x.id)).toEqual([4, 0xfffe, 1]);
    log.nextId = 4;
    deleteSel(log, 0xfffe, 650);
    expect(addSelEvent(log, e, 650)).toBe(5);
    clearSel(log, 700);
    expect(log).toMatchObject({ entries: [], overflow: false, lastErase: 700 });
  });
});
