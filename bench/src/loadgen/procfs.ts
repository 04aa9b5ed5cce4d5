// Reading a server's cost from Linux procfs (proc(5)): CPU time from each thread's
// /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU) and, for the user/kernel split, from
// /proc/<pid>/stat fields 14 utime and 15 stime (clock ticks, all threads), resident memory from
// /proc/<pid>/status VmRSS and, for extrapolating many processes, anonymous vs file-backed pages
// from /proc/<pid>/smaps_rollup. Parsing is pure; the caller reads the files.
import { DecodeError } from '../../../common/src/index.ts';

/** utime + stime in clock ticks. */
export function parseStatCpuTicks(stat: string): number {
  const { utime, stime } = parseStatCpu(stat);
  return utime + stime;
}

/** utime and stime in clock ticks. The command name (field 2) may hold spaces and ')': split after the last ')'. */
export function parseStatCpu(stat: string): { utime: number; stime: number } {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new DecodeError('ERR_PROC_STAT', 'no command name in /proc/<pid>/stat');
  // After ")" come fields 3 (state) onwards: utime is field 14, i.e. index 11 here.
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new DecodeError('ERR_PROC_STAT', 'no utime/stime in /proc/<pid>/stat');
  }
  return { utime, stime };
}

/** A `Name:   1234 kB` line of /proc/<pid>/status or smaps_rollup, in kB. */
export function parseKbField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  if (m === null) throw new DecodeError('ERR_PROC_STATUS', `no ${name} line`);
  return Number(m[1]);
}

export interface MemoryFootprint {
  rssKb: number;
  /** Anonymous pages (heap, stacks): what each further copy of the process adds. */
  anonKb: number;
  /** File-backed pages (the interpreter, libraries): one copy shared by every process that maps them. */
  fileKb: number;
}

/**
 * Splits RSS into anonymous and file-backed pages. Unlike Shared_* / Private_*, this split does not
 * depend on which other processes happen to map the same libraries at the moment of reading.
 */
export function parseSmapsRollup(text: string): MemoryFootprint {
  const rssKb = parseKbField(text, 'Rss');
  const anonKb = parseKbField(text, 'Anonymous');
  return { rssKb, anonKb, fileKb: rssKb - anonKb };
}

/** The first field of /proc/<pid>/task/<tid>/schedstat: nanoseconds the thread has run. */
export function parseSchedstatNs(text: string): number {
  const first = text.trim().split(/\s+/)[0] ?? '';
  const ns = Number(first);
  if (!/^\d+$/.test(first) || !Number.isSafeInteger(ns)) {
    throw new DecodeError('ERR_PROC_SCHEDSTAT', `not a schedstat line: '${text}'`);
  }
  return ns;
}

/** One reading of a process's CPU time: per thread in ns, and the whole process's utime/stime ticks. */
export interface CpuReading {
  readonly threadNs: ReadonlyMap<number, number>;
  readonly utime: number;
  readonly stime: number;
}

/**
 * The CPU a process used between two readings, in ms, and how much of it in the kernel. The sum over
 * threads is exact; stat's ticks are 10 ms apart, ±1 tick at each end of a window, which is a few
 * per cent of a 2-second window at 30 % load. A thread that exited between the readings took its
 * time with it, so then the ticks are used; a thread that started counts all its time.
 */
export function cpuBetween(a: CpuReading, b: CpuReading, clkTck: number): { cpuMs: number; sysMs: number } {
  const tickMs = 1000 / clkTck;
  const ticks = b.utime + b.stime - a.utime - a.stime;
  const byTicks = { cpuMs: ticks * tickMs, sysMs: (b.stime - a.stime) * tickMs };
  // No schedstat files (a kernel without CONFIG_SCHED_INFO) or a thread gone: the ticks.
  if (a.threadNs.size === 0) return byTicks;
  let ns = 0;
  for (const [tid, before] of a.threadNs) {
    const after = b.threadNs.get(tid);
    if (after === undefined) return byTicks;
    ns += after - before;
  }
  for (const [tid, after] of b.threadNs) if (!a.threadNs.has(tid)) ns += after;
  const cpuMs = ns / 1e6;
  return { cpuMs, sysMs: ticks > 0 ? (cpuMs * (b.stime - a.stime)) / ticks : 0 };
}
