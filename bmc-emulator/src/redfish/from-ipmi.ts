/**
 * One node, one BMC: a Redfish system built from the IPMI BMC of the same machine reports what
 * `ipmitool` reports — the FRU's manufacturer, product and serial, the system GUID as UUID, and the
 * SDR sensors (temperatures, fans, rails, power draw) with their thresholds and health.
 */
import { type Clock, systemClock } from '../../../common/src/index.ts';
import type { Bmc } from '../ipmi/bmc.ts';
import { type HwContext, hardware, repository, scanSensors } from '../ipmi/model/hw.ts';
import { type AnalogSensor, effectiveThresholds, toUnits, Unit } from '../ipmi/model/sensors.ts';
import type { ChassisSensor } from './power.ts';
import type { RedfishSystemOptions } from './system.ts';

const KIND_OF_UNIT: Partial<Record<number, ChassisSensor['kind']>> = {
  [Unit.Celsius]: 'temperature',
  [Unit.Rpm]: 'fan',
  [Unit.Volts]: 'voltage',
  [Unit.Watts]: 'power',
};

/** Threshold status bits (IPMI v2.0 table 35-15): 0x12/0x24 critical or worse, 0x09 non-critical. */
function health(states: number): ChassisSensor['health'] {
  if (states & 0x36) return 'Critical';
  if (states & 0x09) return 'Warning';
  return 'OK';
}

const units = (s: AnalogSensor, raw: number | undefined) =>
  raw === undefined ? undefined : Math.round(toUnits(s, raw) * 1000) / 1000;

/**
 * Reads the BMC's analog sensors now (a scan, as the BMC's own polling: threshold crossings go to
 * its SEL). `clock` must be the one the BMC was built with.
 */
export function sensorsFromBmc(bmc: Bmc, clock: Clock = systemClock): () => readonly ChassisSensor[] {
  const c: HwContext = { state: bmc.state, machine: bmc.machine, clock };
  return () => {
    const readings = scanSensors(c);
    const out: ChassisSensor[] = [];
    for (const s of repository(c).sensors) {
      const r = readings.get(s.number);
      const kind = s.kind === 'analog' ? KIND_OF_UNIT[s.unit] : undefined;
      if (s.kind !== 'analog' || kind === undefined || r === undefined) continue;
      const t = effectiveThresholds(s, bmc.state.hw.thresholds);
      const upperCritical = units(s, t.uc);
      const upperWarning = units(s, t.unc);
      const lowerCritical = units(s, t.lc);
      out.push({
        name: s.name,
        kind,
        reading: r.scanning ? (units(s, r.raw) ?? null) : null,
        ...(upperCritical === undefined ? {} : { upperCritical }),
        ...(upperWarning === undefined ? {} : { upperWarning }),
        ...(lowerCritical === undefined ? {} : { lowerCritical }),
        state: r.scanning ? 'Enabled' : 'StandbyOffline',
        health: health(r.states),
      });
    }
    return out;
  };
}

/** IPMI's system GUID (stored little-endian, as Get System GUID sends it) as an RFC 4122 string. */
function guidString(guid: Buffer): string {
  const h = Buffer.from(guid).reverse().toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The Redfish side of the BMC `bmc`: same machine, same identity, same sensors. */
export function redfishOptionsFromBmc(
  bmc: Bmc,
  o: { id?: string; clock?: Clock } = {},
): RedfishSystemOptions {
  const hw = hardware({ state: bmc.state, machine: bmc.machine, clock: o.clock ?? systemClock });
  return {
    id: o.id ?? bmc.machine.spec.name,
    machine: bmc.machine,
    uuid: guidString(bmc.state.systemGuid),
    manufacturer: hw.manufacturer,
    model: hw.productName,
    serialNumber: hw.productSerial,
    sensors: sensorsFromBmc(bmc, o.clock),
  };
}
