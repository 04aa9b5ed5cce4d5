/**
 * The hardware model as the command handlers see it: the node's description (derived on first
 * use), its SDR repository, sensor scans that log threshold crossings, and the event log fed by
 * the machine's event stream. Sensors are scanned when someone looks (a sensor or SEL command),
 * which is what a client can observe of a real BMC's continuous scanning.
 */
import type { Clock } from '../../../../common/src/index.ts';
import type { BootDevice, Machine, MachineEvent } from '../../../../vm-fleet/src/index.ts';
import { type CommandContext, type CommandSpec, NetFn } from '../commands/types.ts';
import type { BmcState } from '../state.ts';
import { Writer } from '../wire/writer.ts';
import { describeHardware, type HardwareDescription } from './hardware.ts';
import { buildSdrRepository } from './sdr.ts';
import { addSelEvent, type SelEvent } from './sel.ts';
import {
  EventSensor,
  effectiveThresholds,
  type Reading,
  readSensor,
  type Sensor,
  sensorsFor,
  THRESHOLD_ORDER,
} from './sensors.ts';

export interface HwContext {
  readonly state: BmcState;
  readonly machine: Machine;
  readonly clock: Clock;
}

export interface Repository {
  readonly sensors: readonly Sensor[];
  readonly byName: ReadonlyMap<string, Sensor>;
  /** Every record back to back; record i (ID i + 1) spans starts[i]..starts[i + 1]. */
  readonly image: Buffer;
  readonly starts: readonly number[];
}

export function hardware(c: HwContext): HardwareDescription {
  c.state.hw.description ??= describeHardware(c.machine.spec, c.state.profile);
  return c.state.hw.description;
}

const repositories = new WeakMap<HardwareDescription, Repository>();

export function repository(c: HwContext): Repository {
  const hw = hardware(c);
  let repo = repositories.get(hw);
  if (repo === undefined) {
    const sensors = sensorsFor(hw);
    const w = new Writer(1024);
    const starts = buildSdrRepository(hw, sensors, w);
    repo = { sensors, byName: new Map(sensors.map((s) => [s.name, s])), image: w.finish(), starts };
    repositories.set(hw, repo);
  }
  return repo;
}

/** The SEL clock in seconds: the wall clock when first asked, then advancing with the BMC's clock. */
export function selNow(c: { state: BmcState; clock: Clock }): number {
  const secs = c.clock.now() / 1000;
  c.state.hw.selTimeOffset ??= Math.floor(Date.now() / 1000 - secs);
  return Math.floor(secs + c.state.hw.selTimeOffset) >>> 0;
}

/** Logs a sensor-specific event (event/reading type 6Fh) against one of the BMC's event sensors. */
export function logEvent(c: HwContext, sensor: string, offset: number, data2 = 0xff, data3 = 0xff): void {
  const s = repository(c).byName.get(sensor);
  if (s === undefined) return;
  const hasData2 = data2 === 0xff ? 0 : 0xc0; // 11b: sensor-specific extension in byte 2
  record(c, {
    sensorType: s.type,
    sensorNumber: s.number,
    eventType: 0x6f,
    data: [hasData2 | (offset & 0x0f), data2, data3],
  });
}

function record(c: HwContext, e: SelEvent): void {
  const log = c.state.hw.sel;
  const wasFull = log.entries.length >= log.capacity;
  addSelEvent(log, e, selNow(c));
  // The last free slot takes a "SEL full" event (Event Logging Disabled offset 04h), as BMCs do.
  if (!wasFull && log.entries.length === log.capacity - 1) {
    const sel = repository(c).byName.get(EventSensor.Sel);
    if (sel !== undefined)
      addSelEvent(
        log,
        { sensorType: sel.type, sensorNumber: sel.number, eventType: 0x6f, data: [0x04, 0xff, 0xff] },
        selNow(c),
      );
  }
}

/** Threshold event offsets (table 42-2) by status bit: going low for lower, going high for upper. */
const CROSSING_OFFSET = [0x00, 0x02, 0x04, 0x07, 0x09, 0x0b];

/** Reads every sensor now and logs threshold crossings since the previous scan. */
export function scanSensors(c: HwContext): Map<number, Reading> {
  const repo = repository(c);
  const hw = hardware(c);
  const on = c.machine.powerState() === 'on';
  const now = c.clock.now();
  const load = on && now < c.state.hw.busyUntil ? 1 : 0;
  const out = new Map<number, Reading>();
  const last = c.state.hw.sensorStatus;
  for (const s of repo.sensors) {
    const t = s.kind === 'analog' ? effectiveThresholds(s, c.state.hw.thresholds) : {};
    const r = readSensor(s, hw, on, now, c.state.hw.sensorOverrides[s.name], load, t);
    out.set(s.number, r);
    if (s.kind !== 'analog') continue;
    const before = last[s.number] ?? 0;
    if (r.states === before) continue;
    last[s.number] = r.states;
    for (let bit = 0; bit < 6; bit++) {
      const mask = 1 << bit;
      if ((r.states & mask) === (before & mask)) continue;
      const threshold = t[THRESHOLD_ORDER[bit] as (typeof THRESHOLD_ORDER)[number]] ?? 0;
      record(c, {
        sensorType: s.type,
        sensorNumber: s.number,
        eventType: 0x01,
        deassertion: (r.states & mask) === 0,
        // 01b/01b: trigger reading in byte 2, trigger threshold in byte 3 (table 29-6).
        data: [0x50 | (CROSSING_OFFSET[bit] as number), r.raw, threshold],
      });
    }
  }
  return out;
}

/** How long each phase keeps the host busy, for the sensors (load 1 instead of idle). */
const BUSY_POST_MS = 60_000;
const BUSY_NETBOOT_MS = 20_000;
const BUSY_OS_START_MS = 15_000;

/** OS Boot offsets (table 42-3, sensor type 1Fh) by the device the machine booted. */
const OS_BOOT_OFFSET: Partial<Record<BootDevice, number>> = {
  floppy: 0x00,
  'remote-floppy': 0x00,
  disk: 0x01,
  'remote-disk': 0x01,
  pxe: 0x02,
  diag: 0x03,
  cdrom: 0x04,
  'remote-cdrom': 0x04,
};

/** Turns one machine event into SEL records, as a BMC watching the platform does. */
export function logMachineEvent(c: HwContext, e: MachineEvent): void {
  const busy = (ms: number) => {
    c.state.hw.busyUntil = Math.max(c.state.hw.busyUntil, c.clock.now() + ms);
  };
  switch (e.type) {
    case 'network-boot':
      busy(BUSY_NETBOOT_MS);
      return;
    case 'os-reached':
      busy(BUSY_OS_START_MS);
      return;
    case 'power':
      if (e.state === 'off') c.state.hw.busyUntil = 0;
      if (e.state === 'on')
        logEvent(c, EventSensor.Acpi, 0x00); // S0/G0 working
      else if (e.cause === 'soft-off' || e.cause === 'guest')
        logEvent(c, EventSensor.Acpi, 0x05); // S5/G2 soft-off
      else if (e.cause === 'exited')
        logEvent(c, EventSensor.Acpi, 0x07); // G3 mechanical off
      else logEvent(c, EventSensor.Acpi, 0x0a); // S5 entered by override
      return;
    case 'post':
      // Fans ramp up and the CPUs work through POST and the boot that follows.
      c.state.hw.busyUntil = c.clock.now() + BUSY_POST_MS;
      // System Restart (1Dh) offset 07h "system restart", data 2 the restart cause (table 28-11).
      logEvent(c, EventSensor.SysRestart, 0x07, c.state.restartCause & 0x0f, 0x00);
      return;
    case 'boot-source': {
      const off = OS_BOOT_OFFSET[e.device];
      logEvent(c, EventSensor.OsBoot, off ?? 0x06);
      return;
    }
    case 'boot-failed':
      logEvent(c, EventSensor.BootError, 0x00); // no bootable media
      return;
    case 'nmi':
      logEvent(c, EventSensor.Nmi, 0x00); // front panel NMI / diagnostic interrupt
      return;
    default:
      return;
  }
}

/** Feeds the SEL from the machine's event stream; returns the unsubscribe function. */
export function attachEventLog(c: HwContext): () => void {
  return c.machine.subscribe((e) => logMachineEvent(c, e));
}

/** Reservation IDs (SDR and SEL), volatile as on a real BMC: a restart cancels them. */
export interface Reservations {
  sdr: number;
  sel: number;
}
const reservationsByState = new WeakMap<BmcState, Reservations>();

export function reservations(state: BmcState): Reservations {
  let r = reservationsByState.get(state);
  if (r === undefined) {
    r = { sdr: 0, sel: 0 };
    reservationsByState.set(state, r);
  }
  return r;
}

/** A new reservation ID, never 0000h (which means "no reservation"). */
export function reserve(current: number): number {
  return (current % 0xffff) + 1;
}

/** A BMC reset: Management Subsystem Health offset 02h "management controller off-line". */
export function logBmcReset(c: HwContext): void {
  logEvent(c, EventSensor.BmcHealth, 0x02);
}

/**
 * Wraps chassis command rows so the SEL records what only the BMC sees: a boot device change
 * (System Event offset 00h "system reconfigured") and a power cycle (Power Unit offset 01h),
 * logged once the command succeeded.
 */
export function withSelEvents(rows: readonly CommandSpec[]): CommandSpec[] {
  return rows.map((row) => {
    if (row.netFn !== NetFn.Chassis || (row.cmd !== 0x02 && row.cmd !== 0x08)) return row;
    return {
      ...row,
      handle: async (d: Buffer, ctx: CommandContext) => {
        const before = ctx.machine.bootOverride();
        const out = await row.handle(d, ctx);
        if (row.cmd === 0x02 && ((d[0] as number) & 0x0f) === 0x02)
          logEvent(ctx, EventSensor.PowerUnit, 0x01);
        if (row.cmd === 0x08 && ((d[0] as number) & 0x7f) === 0x05) {
          const after = ctx.machine.bootOverride();
          if (
            after.device !== before.device ||
            after.persistent !== before.persistent ||
            after.mode !== before.mode
          )
            logEvent(ctx, EventSensor.SystemEvent, 0x00);
        }
        return out;
      },
    };
  });
}
