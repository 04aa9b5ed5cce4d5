/**
 * Set Sensor Thresholds (IPMI v2.0 section 35.8) driven by the clients operators use: ipmitool
 * `sensor thresh` and FreeIPMI `ipmi-sensors-config`, read back with `ipmitool sensor get` and
 * `ipmi-sensors --output-sensor-thresholds`; refusals (not settable, out of range) are CCh, and
 * readings judged against the new thresholds log SEL threshold events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, ipmitool, type LiveBmc, startBmc } from '../support/bmc.ts';

async function freeipmi(tool: string, port: number, args: readonly string[]) {
  const r = await execa(
    tool,
    ['-h', `127.0.0.1:${port}`, '-u', 'admin', '-p', 'password', '--driver-type=LAN_2_0', ...args],
    { reject: false, timeout: 30_000, all: true },
  );
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}

/** `Upper Critical : 90.000` lines of `ipmitool sensor get`, as numbers (NaN for na). */
function thresholdsOf(out: string): Record<string, number> {
  const t: Record<string, number> = {};
  for (const m of out.matchAll(/^ (Lower|Upper) (Non-Recoverable|Critical|Non-Critical)\s+: (\S+)/gm))
    t[`${m[1]} ${m[2]}`] = Number(m[3]);
  return t;
}

describe.skipIf(!hasCommand('ipmitool'))('ipmitool sensor thresh', () => {
  let b: LiveBmc;
  beforeAll(async () => {
    b = await startBmc({ vendor: 'dell' });
  });
  afterAll(async () => {
    await b.close();
  });

  it('sets upper and lower thresholds that sensor get then reports', async () => {
    const up = await ipmitool(b.port, ['sensor', 'thresh', 'CPU Temp', 'upper', '70', '75', '80']);
    expect(up.out).not.toMatch(/Error/);
    const fan = await ipmitool(b.port, ['sensor', 'thresh', 'Fan1', 'lower', '200', '400', '600']);
    expect(fan.out).not.toMatch(/Error/);
    const cpu = thresholdsOf((await ipmitool(b.port, ['sensor', 'get', 'CPU Temp'])).out);
    expect(cpu).toMatchObject({
      'Upper Non-Critical': 70,
      'Upper Critical': 75,
      'Upper Non-Recoverable': 80,
    });
    expect(cpu['Lower Critical']).toBeNaN(); // na: CPU Temp has no lower thresholds
    const f = thresholdsOf((await ipmitool(b.port, ['sensor', 'get', 'Fan1'])).out);
    // Fans count in 100 RPM steps (M = 100).
    expect(f).toMatchObject({
      'Lower Non-Recoverable': 200,
      'Lower Critical': 400,
      'Lower Non-Critical': 600,
    });
    expect(b.bmc.state.hw.thresholds['CPU Temp']).toEqual({ unc: 70, uc: 75, unr: 80 });
  });

  it('refuses a threshold the SDR marks not settable and one beyond the sensor range with CCh', async () => {
    // Voltage rails keep the board's limits; CPU Temp has no lower thresholds; 200 degC is beyond 127.
    const rail = await ipmitool(b.port, ['sensor', 'thresh', '12V', 'ucr', '13']);
    expect(rail.out).toMatch(/Error setting threshold: 0xcc|Invalid data field/i);
    const lower = await ipmitool(b.port, ['sensor', 'thresh', 'CPU Temp', 'lcr', '5']);
    expect(lower.out).toMatch(/Error setting threshold: 0xcc|Invalid data field/i);
    const hot = await ipmitool(b.port, ['sensor', 'thresh', 'CPU Temp', 'unr', '200']);
    expect(hot.out).toMatch(/Error setting threshold: 0xcc|Invalid data field/i);
    const raw = await ipmitool(b.port, [
      'raw',
      '0x04',
      '0x26',
      '0x01',
      '0x20',
      '0',
      '0',
      '0',
      '0',
      '0',
      '200',
    ]);
    expect(raw.ok).toBe(false);
    expect(raw.out).toMatch(/rsp=0xcc/);
    const cpu = thresholdsOf((await ipmitool(b.port, ['sensor', 'get', 'CPU Temp'])).out);
    expect(cpu['Upper Non-Recoverable']).toBe(80);
  });

  it('a reading above a lowered threshold logs an upper threshold event in the SEL', async () => {
    await b.machine.powerOn();
    expect((await ipmitool(b.port, ['sel', 'clear'])).ok).toBe(true);
    // Inlet Temp reads about 24 degC with the host on: an upper non-critical of 20 is crossed.
    const set = await ipmitool(b.port, ['sensor', 'thresh', 'Inlet Temp', 'unc', '20']);
    expect(set.out).not.toMatch(/Error/);
    const get = (await ipmitool(b.port, ['sensor', 'get', 'Inlet Temp'])).out;
    expect(get).toMatch(/Status\s+: Upper Non-Critical/);
    const elist = (await ipmitool(b.port, ['sel', 'elist'])).out;
    expect(elist).toMatch(
      /Temperature Inlet Temp \| Upper Non-critical going high \| Asserted \| Reading 2\d .*Threshold 20/,
    );
  });
});

describe.skipIf(!hasCommand('ipmi-sensors-config'))('FreeIPMI ipmi-sensors-config', () => {
  let b: LiveBmc;
  let cache: string;
  beforeAll(async () => {
    b = await startBmc({ vendor: 'generic' });
    cache = mkdtempSync(join(tmpdir(), 'bmlab-sdr-cache-'));
  });
  afterAll(async () => {
    await b.close();
    rmSync(cache, { recursive: true });
  });

  it('commits thresholds that ipmi-sensors and ipmitool read back; the rails are not settable', async () => {
    const sdr = `--sdr-cache-directory=${cache}`;
    const checkout = await freeipmi('ipmi-sensors-config', b.port, [sdr, '--checkout']);
    expect(checkout.ok).toBe(true);
    expect(checkout.out).toMatch(/Section 3_CPU_Temp/); // sections are named by SDR record ID
    expect(checkout.out).toMatch(/## Upper_Critical_Threshold\s+13\.200000/); // 12V: not settable
    expect(checkout.out).toMatch(/Upper_Critical_Threshold\s+90\.000000/);
    const commit = await freeipmi('ipmi-sensors-config', b.port, [
      sdr,
      '--commit',
      '--key-pair=3_CPU_Temp:Upper_Non_Critical_Threshold=66',
      '--key-pair=3_CPU_Temp:Upper_Critical_Threshold=77',
    ]);
    expect(commit.out).toBe('');
    expect(commit.ok).toBe(true);
    const sensors = await freeipmi('ipmi-sensors', b.port, [
      sdr,
      '--output-sensor-thresholds',
      '--record-ids=3',
    ]);
    // Columns: ID | Name | Type | Reading | Units | Lower NR | Lower C | Lower NC | Upper NC | Upper C | Upper NR | Event
    expect(sensors.out).toMatch(
      /CPU Temp\s+\| Temperature\s+\| [\d.]+\s+\| C\s+\| N\/A\s+\| N\/A\s+\| N\/A\s+\| 66\.00\s+\| 77\.00\s+\| 95\.00/,
    );
    const t = thresholdsOf((await ipmitool(b.port, ['sensor', 'get', 'CPU Temp'])).out);
    expect(t).toMatchObject({ 'Upper Non-Critical': 66, 'Upper Critical': 77, 'Upper Non-Recoverable': 95 });
    const rail = await freeipmi('ipmi-sensors-config', b.port, [
      sdr,
      '--commit',
      '--key-pair=9_12V:Upper_Critical_Threshold=13.2',
    ]);
    expect(rail.ok).toBe(false);
    expect(rail.out).toMatch(/not writeable/);
  });
});
