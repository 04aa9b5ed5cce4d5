// Reading a server's cost from Linux procfs (proc(5)): CPU time from /proc/<pid>/stat fields 14
// utime and 15 stime (clock ticks, all threads of the process), resident memory from
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
