/**
 * Chassis (one per system) with Power and Thermal readings that follow the machine's power state
 * (`chassisReadings`): 0 W, ambient temperatures and stopped fans when off.
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
import { chassisReadings } from '../power.ts';
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

function renderPower(s: RedfishSystem): Json {
  const url = `${chUrl(s)}/Power`;
  const r = chassisReadings(s.machine);
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
        PowerConsumedWatts: r.powerConsumedWatts,
        PowerCapacityWatts: PSU_CAPACITY_W,
        Status: OK,
      },
    ],
    PowerSupplies: [
      {
        '@odata.id': `${url}#/PowerSupplies/0`,
        MemberId: '0',
        Name: 'Power Supply 1',
        PowerSupplyType: 'AC',
        LineInputVoltageType: 'ACMidLine',
        LineInputVoltage: 230,
        PowerCapacityWatts: PSU_CAPACITY_W,
        LastPowerOutputWatts: r.powerConsumedWatts,
        Status: OK,
      },
    ],
  };
}

function renderThermal(s: RedfishSystem): Json {
  const url = `${chUrl(s)}/Thermal`;
  const r = chassisReadings(s.machine);
  return {
    '@odata.type': '#Thermal.v1_6_0.Thermal',
    '@odata.id': url,
    Id: 'Thermal',
    Name: 'Thermal',
    Temperatures: [
      {
        '@odata.id': `${url}#/Temperatures/0`,
        MemberId: '0',
        Name: 'CPU1 Temp',
        PhysicalContext: 'CPU',
        ReadingCelsius: r.cpuTempCelsius,
        UpperThresholdCritical: 90,
        Status: OK,
      },
      {
        '@odata.id': `${url}#/Temperatures/1`,
        MemberId: '1',
        Name: 'Inlet Temp',
        PhysicalContext: 'Intake',
        ReadingCelsius: r.inletTempCelsius,
        UpperThresholdCritical: 42,
        Status: OK,
      },
    ],
    Fans: [
      {
        '@odata.id': `${url}#/Fans/0`,
        MemberId: '0',
        Name: 'System Fan 1',
        PhysicalContext: 'SystemBoard',
        Reading: r.fanRpm,
        ReadingUnits: 'RPM',
        Status: r.fanRpm > 0 ? OK : { State: 'StandbyOffline', Health: 'OK' },
      },
    ],
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
