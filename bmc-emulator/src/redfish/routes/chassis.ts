/**
 * Chassis (one per system) with Power and Thermal built from the system's sensors: the IPMI BMC's
 * SDR sensors when the system was made from it (`redfishOptionsFromBmc`), else `defaultSensors`.
 * Either way they follow the machine: 0 W, ambient temperatures and still fans when off.
 */

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type RedfishContext, systemOf } from '../context.ts';
import {
  checkIfMatch,
  collection,
  enumProperty,
  type Json,
  link,
  ROOT,
  refuseOtherMethods,
  refuseUnwritable,
  sendResource,
} from '../http.ts';
import type { ChassisSensor } from '../power.ts';
import { INDICATOR_LED, type RedfishSystem } from '../system.ts';

type P = { Params: { id: string } };
const chUrl = (s: RedfishSystem) => `${ROOT}/Chassis/${s.id}`;
const OK = { State: 'Enabled', Health: 'OK' } as const;

function renderChassis(s: RedfishSystem): Json {
  const url = chUrl(s);
  return {
    '@odata.type': '#Chassis.v1_14_0.Chassis',
    '@odata.id': url,
    Id: s.id,
    Name: `${s.machine.spec.name} chassis`,
    ChassisType: 'RackMount',
    Manufacturer: s.manufacturer,
    Model: s.model,
    SerialNumber: s.serialNumber,
    UUID: s.uuid,
    IndicatorLED: s.indicatorLed,
    PowerState: s.machine.powerState() === 'on' ? 'On' : 'Off',
    Status: { ...OK, HealthRollup: 'OK' },
    Power: link(`${url}/Power`),
    Thermal: link(`${url}/Thermal`),
    Links: {
      ComputerSystems: [link(`${ROOT}/Systems/${s.id}`)],
      ManagedBy: [link(`${ROOT}/Managers/${s.id}`)],
    },
  };
}

const PSU_CAPACITY_W = 450;

function status(x: ChassisSensor) {
  return { State: x.state, Health: x.health };
}

function renderPower(s: RedfishSystem): Json {
  const url = `${chUrl(s)}/Power`;
  const sensors = s.sensors();
  const watts = sensors.find((x) => x.kind === 'power');
  const consumed = watts?.reading ?? 0;
  return {
    '@odata.type': '#Power.v1_6_0.Power',
    '@odata.id': url,
    Id: 'Power',
    Name: 'Power',
    PowerControl: [
      {
        '@odata.id': `${url}#/PowerControl/0`,
        MemberId: '0',
        Name: 'System Power Control',
        PowerConsumedWatts: consumed,
        PowerCapacityWatts: PSU_CAPACITY_W,
        Status: watts === undefined ? OK : status(watts),
      },
    ],
    Voltages: sensors
      .filter((x) => x.kind === 'voltage')
      .map((x, i) => ({
        '@odata.id': `${url}#/Voltages/${i}`,
        MemberId: String(i),
        Name: x.name,
        ReadingVolts: x.reading,
        ...(x.upperCritical === undefined ? {} : { UpperThresholdCritical: x.upperCritical }),
        ...(x.lowerCritical === undefined ? {} : { LowerThresholdCritical: x.lowerCritical }),
        Status: status(x),
      })),
    PowerSupplies: [
      {
        '@odata.id': `${url}#/PowerSupplies/0`,
        MemberId: '0',
        Name: 'Power Supply 1',
        PowerSupplyType: 'AC',
        LineInputVoltageType: 'ACMidLine',
        LineInputVoltage: 230,
        PowerCapacityWatts: PSU_CAPACITY_W,
        LastPowerOutputWatts: consumed,
        Status: OK,
      },
    ],
  };
}

function renderThermal(s: RedfishSystem): Json {
  const url = `${chUrl(s)}/Thermal`;
  const sensors = s.sensors();
  const thresholds = (x: ChassisSensor) => ({
    ...(x.upperCritical === undefined ? {} : { UpperThresholdCritical: x.upperCritical }),
    ...(x.upperWarning === undefined ? {} : { UpperThresholdNonCritical: x.upperWarning }),
    ...(x.lowerCritical === undefined ? {} : { LowerThresholdCritical: x.lowerCritical }),
  });
  return {
    '@odata.type': '#Thermal.v1_6_0.Thermal',
    '@odata.id': url,
    Id: 'Thermal',
    Name: 'Thermal',
    Temperatures: sensors
      .filter((x) => x.kind === 'temperature')
      .map((x, i) => ({
        '@odata.id': `${url}#/Temperatures/${i}`,
        MemberId: String(i),
        Name: x.name,
        PhysicalContext: /cpu/i.test(x.name)
          ? 'CPU'
          : /inlet|ambient/i.test(x.name)
            ? 'Intake'
            : 'SystemBoard',
        ReadingCelsius: x.reading,
        ...thresholds(x),
        Status: status(x),
      })),
    Fans: sensors
      .filter((x) => x.kind === 'fan')
      .map((x, i) => ({
        '@odata.id': `${url}#/Fans/${i}`,
        MemberId: String(i),
        Name: x.name,
        PhysicalContext: 'SystemBoard',
        Reading: x.reading,
        ReadingUnits: 'RPM',
        ...thresholds(x),
        // A fan that stands still with the host off is in standby, not failed.
        Status:
          x.reading === 0 && s.machine.powerState() === 'off'
            ? { State: 'StandbyOffline', Health: 'OK' }
            : status(x),
      })),
  };
}

const ChassisPatch = Type.Object({ IndicatorLED: Type.Optional(Type.Unknown()) });

export function registerChassisRoutes(app: FastifyInstance, ctx: RedfishContext): void {
  const base = `${ROOT}/Chassis`;
  app.get(base, async (_req, reply) =>
    sendResource(
      reply,
      collection('ChassisCollection', base, 'Chassis Collection', [...ctx.systems.values()].map(chUrl)),
    ),
  );
  refuseOtherMethods(app, base, ['GET']);
  const one = `${base}/:id`;
  app.get<P>(one, async (req, reply) =>
    sendResource(reply, renderChassis(systemOf(ctx, req.params.id, 'Chassis'))),
  );
  app.patch<P>(one, { schema: { body: ChassisPatch } }, async (req, reply) => {
    const s = systemOf(ctx, req.params.id, 'Chassis');
    const current = renderChassis(s);
    checkIfMatch(req, current);
    const body = req.body as Json;
    refuseUnwritable(body, ['IndicatorLED'], current);
    if (body['IndicatorLED'] !== undefined) {
      s.indicatorLed = enumProperty('IndicatorLED', body['IndicatorLED'], INDICATOR_LED);
    }
    return sendResource(reply, renderChassis(s));
  });
  refuseOtherMethods(app, one, ['GET', 'PATCH']);
  app.get<P>(`${one}/Power`, async (req, reply) =>
    sendResource(reply, renderPower(systemOf(ctx, req.params.id, 'Chassis'))),
  );
  refuseOtherMethods(app, `${one}/Power`, ['GET']);
  app.get<P>(`${one}/Thermal`, async (req, reply) =>
    sendResource(reply, renderThermal(systemOf(ctx, req.params.id, 'Chassis'))),
  );
  refuseOtherMethods(app, `${one}/Thermal`, ['GET']);
}
