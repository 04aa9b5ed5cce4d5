import { describe, expect, it } from 'vitest';
import {
  cpuBetween,
  parseKbField,
  parseSchedstatNs,
  parseSmapsRollup,
  parseStatCpu,
  parseStatCpuTicks,
} from './procfs.ts';
import { percentile, Samples, summarize } from './stats.ts';

describe('procfs parsing', () => {
  it('reads utime + stime even when the command name holds spaces and parentheses', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const stat = '4242 (ipmi sim) (x)) S 1 4242 4242 0 -1 4194560 120 0 0 0 731 269 0 0 20 0 3 0 100';
    expect(parseStatCpuTicks(stat)).toBe(1000);
    expect(parseStatCpu(stat)).toEqual({ utime: 731, stime: 269 });
  });

  it('reads the nanoseconds a thread ran from its schedstat line, and refuses anything else', () => {
    expect(parseSchedstatNs('1662512345 238056517 52548\n')).toBe(1_662_512_345);
    expect(() => parseSchedstatNs('')).toThrow(/not a schedstat line/);
    expect(() => parseSchedstatNs('-5 0 0')).toThrow(/not a schedstat line/);
  });

  /** A CPU reading: [thread id, ns run] pairs and the process's ticks. */
  const reading = (threads: [number, number][], utime: number, stime: number) => ({
    threadNs: new Map(threads),
    utime,
    stime,
  });
  const start = reading(
    [
      [10, 5e9],
      [11, 1e9],
    ],
    400,
    100,
  );

  it("takes a window's CPU from the threads, split user/kernel by the ticks", () => {
    // 300 ms on thread 10, 20 ms on 11, and a thread born in the window that ran 30 ms; the
    // ticks say 30 of 40 were user time.
    const end = reading(
      [
        [10, 5.3e9],
        [11, 1.02e9],
        [12, 3e7],
      ],
      430,
      110,
    );
    const r = cpuBetween(start, end, 100);
    expect(r.cpuMs).toBeCloseTo(350, 6);
    expect(r.sysMs).toBeCloseTo(87.5, 6);
  });

  it('falls back to the ticks when a thread exited in the window or no schedstat was read', () => {
    expect(cpuBetween(start, reading([[10, 5.3e9]], 430, 110), 100)).toEqual({ cpuMs: 400, sysMs: 100 });
    expect(cpuBetween(reading([], 400, 100), reading([], 401, 100), 100)).toEqual({ cpuMs: 10, sysMs: 0 });
  });

  it('reads VmRSS from /proc/<pid>/status', () => {
    expect(parseKbField('Name:\tnode\nVmPeak:\t  99 kB\nVmRSS:\t   31120 kB\n', 'VmRSS')).toBe(31120);
  });

  it('splits smaps_rollup into anonymous and file-backed pages', () => {
    const text = [
      '55d0-7ffd ---p 00000000 00:00 0                [rollup]',
      'Rss:               32628 kB',
      'Pss:               30000 kB',
      'Pss_Anon:          28000 kB',
      'Shared_Clean:       4000 kB',
      'Private_Dirty:     28000 kB',
      'Anonymous:         28008 kB',
      'AnonHugePages:         0 kB',
    ].join('\n');
    expect(parseSmapsRollup(text)).toEqual({ rssKb: 32628, anonKb: 28008, fileKb: 4620 });
  });
});

describe('latency statistics', () => {
  it('uses nearest-rank percentiles, so p99 of 1..100 is 99 and p50 is 50', () => {
    const s = new Samples();
    for (let i = 100; i >= 1; i--) s.push(i * 1000);
    const all = s.toArray();
    expect(percentile(all, 50)).toBe(50_000);
    expect(summarize(all)).toEqual({ count: 100, p50Us: 50, p99Us: 99, maxUs: 100 });
  });

  it('keeps every sample across chunk growth', () => {
    const s = new Samples();
    for (let i = 0; i < 50_000; i++) s.push(i);
    const all = s.toArray();
    expect(all.length).toBe(50_000);
    expect(all[49_999]).toBe(49_999);
    expect(summarize(new Float64Array(0)).count).toBe(0);
  });
});
