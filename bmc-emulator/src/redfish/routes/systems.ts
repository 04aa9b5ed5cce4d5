/**
 * ComputerSystem and what hangs below it, as sushy-tools serves them and as sushy and Ironic's
 * redfish interfaces read them (ironic `drivers/modules/redfish/{power,management,inspect,bios}.py`):
 * PowerState, `#ComputerSystem.Reset`, `Boot` override, ProcessorSummary/MemorySummary, Processors
 * (TotalThreads, ProcessorArchitecture), SimpleStorage and Storage (Drives, Volumes: CapacityBytes),
 * EthernetInterfaces (MACAddress, Status) and Bios with its `Settings` object.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  applyBootPatch,
  BOOT_ENABLED,
  BOOT_MODES,
  BOOT_TARGETS,
  type BootPatch,
  bootFromOverride,
} from '../boot.ts';
import { type RedfishContext, systemOf } from '../context.ts';
import { Errors } from '../errors.ts';
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
import { isResetType, RESET_TYPES, runReset } from '../power.ts';
import {
  type BiosValue,
  INDICATOR_LED,
  type RedfishSystem,
  SECURE_BOOT_RESET_KEYS,
  type SecureBootResetKeys,
} from '../system.ts';

type P = { Params: { id: string } };
type PSub = { Params: { id: string; sub: string } };

const OK = { State: 'Enabled', Health: 'OK' } as const;
const sysUrl = (s: RedfishSystem) => `${ROOT}/Systems/${s.id}`;

const ARCH = {
  x86_64: { ProcessorArchitecture: 'x86', InstructionSet: 'x86-64', Manufacturer: 'Intel(R) Corporation' },
  aarch64: { ProcessorArchitecture: 'ARM', InstructionSet: 'ARM-A64', Manufacturer: 'ARM' },
} as const;

export function renderSystem(s: RedfishSystem): Json {
  const m = s.machine;
  const url = sysUrl(s);
  const on = m.powerState() === 'on';
  return {
    '@odata.type': '#ComputerSystem.v1_10_0.ComputerSystem',
    '@odata.id': url,
    Id: s.id,
    Name: m.spec.name,
    UUID: s.uuid,
    Manufacturer: s.manufacturer,
    Model: s.model,
    SerialNumber: s.serialNumber,
    SystemType: 'Physical',
    HostName: m.spec.name,
    BiosVersion: '1.0.0',
    IndicatorLED: s.indicatorLed,
    PowerState: on ? 'On' : 'Off',
    Status: { ...OK, HealthRollup: 'OK' },
    Boot: {
      ...bootFromOverride(m.bootOverride()),
      'BootSourceOverrideTarget@Redfish.AllowableValues': Object.keys(BOOT_TARGETS),
      'BootSourceOverrideEnabled@Redfish.AllowableValues': BOOT_ENABLED,
      'BootSourceOverrideMode@Redfish.AllowableValues': BOOT_MODES,
    },
    ProcessorSummary: {
      Count: m.spec.cpus,
      LogicalProcessorCount: m.spec.cpus,
      Status: { ...OK, HealthRollup: 'OK' },
    },
    MemorySummary: { TotalSystemMemoryGiB: m.spec.memoryMiB / 1024, Status: { ...OK, HealthRollup: 'OK' } },
    Processors: link(`${url}/Processors`),
    EthernetInterfaces: link(`${url}/EthernetInterfaces`),
    SimpleStorage: link(`${url}/SimpleStorage`),
    Storage: link(`${url}/Storage`),
    Bios: link(`${url}/Bios`),
    SecureBoot: link(`${url}/SecureBoot`),
    Links: {
      Chassis: [link(`${ROOT}/Chassis/${s.id}`)],
      ManagedBy: [link(`${ROOT}/Managers/${s.id}`)],
    },
    Actions: {
      '#ComputerSystem.Reset': {
        target: `${url}/Actions/ComputerSystem.Reset`,
        'ResetType@Redfish.AllowableValues': RESET_TYPES,
      },
    },
  };
}

function renderProcessor(s: RedfishSystem): Json {
  const { cpus, arch } = s.machine.spec;
  return {
    '@odata.type': '#Processor.v1_9_0.Processor',
    '@odata.id': `${sysUrl(s)}/Processors/CPU0`,
    Id: 'CPU0',
    Name: 'Processor',
    Socket: 'CPU 0',
    ProcessorType: 'CPU',
    ...ARCH[arch],
    Model: arch === 'x86_64' ? 'QEMU Virtual CPU' : 'Cortex-A72',
    MaxSpeedMHz: 2400,
    // One socket carrying every vCPU: Ironic sums TotalThreads over the members into `cpus`.
    TotalCores: cpus,
    TotalThreads: cpus,
    Status: OK,
  };
}

const STORAGE_ID = '1';

function renderSimpleStorage(s: RedfishSystem): Json {
  return {
    '@odata.type': '#SimpleStorage.v1_2_0.SimpleStorage',
    '@odata.id': `${sysUrl(s)}/SimpleStorage/${STORAGE_ID}`,
    Id: STORAGE_ID,
    Name: 'Simple Storage Controller',
    UefiDevicePath: 'Acpi(PNP0A03,0)/Pci(1F|1)/Ata(Primary,Master)/HD(Part3, Sig00110011)',
    Devices: s.machine.spec.disks.map((d) => ({ Name: d.name, CapacityBytes: d.sizeBytes, Status: OK })),
    Status: { ...OK, HealthRollup: 'OK' },
  };
}

function renderStorage(s: RedfishSystem): Json {
  const url = `${sysUrl(s)}/Storage/${STORAGE_ID}`;
  return {
    '@odata.type': '#Storage.v1_8_0.Storage',
    '@odata.id': url,
    Id: STORAGE_ID,
    Name: 'Local Storage Controller',
    StorageControllers: [
      {
        '@odata.id': `${url}#/StorageControllers/0`,
        MemberId: '0',
        Name: 'Virtual SATA Controller',
        Status: OK,
        SupportedControllerProtocols: ['PCIe'],
        SupportedDeviceProtocols: ['SATA'],
        SupportedRAIDTypes: ['None'],
      },
    ],
    Drives: s.machine.spec.disks.map((d) => link(`${url}/Drives/${d.name}`)),
    'Drives@odata.count': s.machine.spec.disks.length,
    Volumes: link(`${url}/Volumes`),
    Status: { ...OK, HealthRollup: 'OK' },
  };
}

function disk(s: RedfishSystem, name: string, type: string) {
  const d = s.machine.spec.disks.find((x) => x.name === name);
  if (d === undefined) throw Errors.notFound(type, name);
  return d;
}

function renderDrive(s: RedfishSystem, name: string): Json {
  const d = disk(s, name, 'Drive');
  const url = `${sysUrl(s)}/Storage/${STORAGE_ID}`;
  return {
    '@odata.type': '#Drive.v1_9_0.Drive',
    '@odata.id': `${url}/Drives/${d.name}`,
    Id: d.name,
    Name: d.name,
    CapacityBytes: d.sizeBytes,
    BlockSizeBytes: 512,
    MediaType: 'HDD',
    Protocol: 'SATA',
    Manufacturer: 'QEMU',
    Model: 'QEMU HARDDISK',
    Status: OK,
    Links: { Volumes: [link(`${url}/Volumes/${d.name}`)] },
  };
}

/** Each virtual disk is exposed as one raw volume of the same size (no RAID). */
function renderVolume(s: RedfishSystem, name: string): Json {
  const d = disk(s, name, 'Volume');
  const url = `${sysUrl(s)}/Storage/${STORAGE_ID}`;
  return {
    '@odata.type': '#Volume.v1_4_0.Volume',
    '@odata.id': `${url}/Volumes/${d.name}`,
    Id: d.name,
    Name: d.name,
    CapacityBytes: d.sizeBytes,
    VolumeType: 'RawDevice',
    RAIDType: 'None',
    Status: OK,
    Links: { Drives: [link(`${url}/Drives/${d.name}`)] },
  };
}

function renderNic(s: RedfishSystem, id: string): Json {
  const nic = s.machine.spec.nics.find((n) => n.mac.toLowerCase() === id.toLowerCase());
  if (nic === undefined) throw Errors.notFound('EthernetInterface', id);
  return {
    '@odata.type': '#EthernetInterface.v1_5_1.EthernetInterface',
    '@odata.id': `${sysUrl(s)}/EthernetInterfaces/${nic.mac}`,
    Id: nic.mac,
    Name: 'VNIC',
    Description: 'Virtual NIC',
    MACAddress: nic.mac,
    PermanentMACAddress: nic.mac,
    SpeedMbps: 1000,
    // Ironic's inspection creates a port for every interface that is Enabled and OK.
    Status: OK,
  };
}

function renderBios(s: RedfishSystem): Json {
  const url = `${sysUrl(s)}/Bios`;
  const applied = s.biosAppliedAt();
  return {
    '@odata.type': '#Bios.v1_1_0.Bios',
    '@odata.id': url,
    Id: 'BIOS',
    Name: 'BIOS Configuration Current Settings',
    AttributeRegistry: 'BiosAttributeRegistryP89.v1_0_0',
    Attributes: s.biosAttributes(),
    '@Redfish.Settings': {
      '@odata.type': '#Settings.v1_3_0.Settings',
      SettingsObject: link(`${url}/Settings`),
      SupportedApplyTimes: ['OnReset'],
      ...(applied === undefined ? {} : { Time: applied }),
    },
    Actions: { '#Bios.ResetBios': { target: `${url}/Actions/Bios.ResetBios` } },
  };
}

function renderBiosSettings(s: RedfishSystem): Json {
  return {
    '@odata.type': '#Bios.v1_1_0.Bios',
    '@odata.id': `${sysUrl(s)}/Bios/Settings`,
    Id: 'Settings',
    Name: 'BIOS Configuration Pending Settings',
    AttributeRegistry: 'BiosAttributeRegistryP89.v1_0_0',
    Attributes: s.pendingBiosAttributes(),
  };
}

function renderSecureBoot(s: RedfishSystem): Json {
  const url = `${sysUrl(s)}/SecureBoot`;
  const sb = s.secureBoot();
  return {
    '@odata.type': '#SecureBoot.v1_1_0.SecureBoot',
    '@odata.id': url,
    Id: 'SecureBoot',
    Name: 'UEFI Secure Boot',
    SecureBootEnable: sb.enabled,
    SecureBootCurrentBoot: sb.currentBoot,
    SecureBootMode: sb.mode,
    Actions: {
      '#SecureBoot.ResetKeys': {
        target: `${url}/Actions/SecureBoot.ResetKeys`,
        'ResetKeysType@Redfish.AllowableValues': SECURE_BOOT_RESET_KEYS,
      },
    },
  };
}

/** Pending values must name existing attributes and keep their JSON type, as a BIOS attribute registry enforces. */
function checkBiosAttributes(s: RedfishSystem, attrs: Record<string, unknown>): Record<string, BiosValue> {
  const current = s.biosAttributes();
  const out: Record<string, BiosValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    const was = current[k];
    if (was === undefined) throw Errors.propertyUnknown(`Attributes/${k}`);
    if (typeof v !== typeof was) throw Errors.propertyValueTypeError(`Attributes/${k}`, v);
    out[k] = v as BiosValue;
  }
  return out;
}

const ResetBody = Type.Object({ ResetType: Type.Optional(Type.Unknown()) });
const BootBody = Type.Object({
  BootSourceOverrideTarget: Type.Optional(Type.String()),
  BootSourceOverrideEnabled: Type.Optional(Type.String()),
  BootSourceOverrideMode: Type.Optional(Type.String()),
});
const SystemPatch = Type.Object({
  Boot: Type.Optional(BootBody),
  IndicatorLED: Type.Optional(Type.Unknown()),
});
const SecureBootPatch = Type.Object({ SecureBootEnable: Type.Optional(Type.Boolean()) });
const ResetKeysBody = Type.Object({ ResetKeysType: Type.Optional(Type.Unknown()) });
const BiosPatch = Type.Object({
  Attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
});

export function registerSystemRoutes(app: FastifyInstance, ctx: RedfishContext): void {
  const base = `${ROOT}/Systems`;
  app.get(base, async (_req, reply) =>
    sendResource(
      reply,
      collection(
        'ComputerSystemCollection',
        base,
        'Computer System Collection',
        [...ctx.systems.values()].map(sysUrl),
      ),
    ),
  );
  refuseOtherMethods(app, base, ['GET']);

  const one = `${base}/:id`;
  app.get<P>(one, async (req, reply) => sendResource(reply, renderSystem(systemOf(ctx, req.params.id))));
  app.patch<P>(one, { schema: { body: SystemPatch } }, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const current = renderSystem(s);
    checkIfMatch(req, current);
    const body = req.body as Json & { Boot?: BootPatch; IndicatorLED?: unknown };
    refuseUnwritable(body, ['Boot', 'IndicatorLED'], current);
    const led =
      body.IndicatorLED === undefined
        ? undefined
        : enumProperty('IndicatorLED', body.IndicatorLED, INDICATOR_LED);
    if (body.Boot !== undefined) {
      for (const key of Object.keys(body.Boot)) {
        if (!key.startsWith('BootSourceOverride') || key.includes('@')) {
          throw key in (current['Boot'] as Json)
            ? Errors.propertyNotWritable(`Boot/${key}`)
            : Errors.propertyUnknown(`Boot/${key}`);
        }
      }
      s.machine.setBootOverride(applyBootPatch(s.machine.bootOverride(), body.Boot));
    }
    if (led !== undefined) s.indicatorLed = led;
    return sendResource(reply, renderSystem(s));
  });
  refuseOtherMethods(app, one, ['GET', 'PATCH']);

  const reset = `${one}/Actions/ComputerSystem.Reset`;
  app.post<P>(reset, { schema: { body: ResetBody } }, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const { ResetType } = req.body as { ResetType: unknown };
    if (ResetType === undefined) throw Errors.actionParameterMissing('Reset', 'ResetType');
    if (!isResetType(ResetType)) throw Errors.actionParameterValueNotInList(ResetType, 'ResetType', 'Reset');
    await runReset(s.machine, ResetType);
    return reply.code(204).send();
  });
  refuseOtherMethods(app, reset, ['POST']);

  // Processors
  app.get<P>(`${one}/Processors`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    return sendResource(
      reply,
      collection('ProcessorCollection', `${sysUrl(s)}/Processors`, 'Processors Collection', [
        `${sysUrl(s)}/Processors/CPU0`,
      ]),
    );
  });
  refuseOtherMethods(app, `${one}/Processors`, ['GET']);
  app.get<PSub>(`${one}/Processors/:sub`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    if (req.params.sub !== 'CPU0') throw Errors.notFound('Processor', req.params.sub);
    return sendResource(reply, renderProcessor(s));
  });
  refuseOtherMethods(app, `${one}/Processors/:sub`, ['GET']);

  // SimpleStorage
  app.get<P>(`${one}/SimpleStorage`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const url = `${sysUrl(s)}/SimpleStorage`;
    return sendResource(
      reply,
      collection('SimpleStorageCollection', url, 'Simple Storage Collection', [`${url}/${STORAGE_ID}`]),
    );
  });
  refuseOtherMethods(app, `${one}/SimpleStorage`, ['GET']);
  app.get<PSub>(`${one}/SimpleStorage/:sub`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    if (req.params.sub !== STORAGE_ID) throw Errors.notFound('SimpleStorage', req.params.sub);
    return sendResource(reply, renderSimpleStorage(s));
  });
  refuseOtherMethods(app, `${one}/SimpleStorage/:sub`, ['GET']);

  // Storage, Drives, Volumes
  const storage = `${one}/Storage/:sub`;
  app.get<P>(`${one}/Storage`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const url = `${sysUrl(s)}/Storage`;
    return sendResource(
      reply,
      collection('StorageCollection', url, 'Storage Collection', [`${url}/${STORAGE_ID}`]),
    );
  });
  refuseOtherMethods(app, `${one}/Storage`, ['GET']);
  const storageOf = (id: string, sub: string) => {
    const s = systemOf(ctx, id);
    if (sub !== STORAGE_ID) throw Errors.notFound('Storage', sub);
    return s;
  };
  app.get<PSub>(storage, async (req, reply) =>
    sendResource(reply, renderStorage(storageOf(req.params.id, req.params.sub))),
  );
  refuseOtherMethods(app, storage, ['GET']);
  type PDisk = { Params: { id: string; sub: string; disk: string } };
  app.get<PDisk>(`${storage}/Drives/:disk`, async (req, reply) =>
    sendResource(reply, renderDrive(storageOf(req.params.id, req.params.sub), req.params.disk)),
  );
  refuseOtherMethods(app, `${storage}/Drives/:disk`, ['GET']);
  app.get<PSub>(`${storage}/Volumes`, async (req, reply) => {
    const s = storageOf(req.params.id, req.params.sub);
    const url = `${sysUrl(s)}/Storage/${STORAGE_ID}/Volumes`;
    return sendResource(
      reply,
      collection(
        'VolumeCollection',
        url,
        'Storage Volume Collection',
        s.machine.spec.disks.map((d) => `${url}/${d.name}`),
      ),
    );
  });
  refuseOtherMethods(app, `${storage}/Volumes`, ['GET']);
  app.get<PDisk>(`${storage}/Volumes/:disk`, async (req, reply) =>
    sendResource(reply, renderVolume(storageOf(req.params.id, req.params.sub), req.params.disk)),
  );
  refuseOtherMethods(app, `${storage}/Volumes/:disk`, ['GET']);

  // EthernetInterfaces (sushy-tools names each one by its MAC address)
  app.get<P>(`${one}/EthernetInterfaces`, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const url = `${sysUrl(s)}/EthernetInterfaces`;
    return sendResource(
      reply,
      collection(
        'EthernetInterfaceCollection',
        url,
        'Ethernet Interface Collection',
        s.machine.spec.nics.map((n) => `${url}/${n.mac}`),
      ),
    );
  });
  refuseOtherMethods(app, `${one}/EthernetInterfaces`, ['GET']);
  app.get<PSub>(`${one}/EthernetInterfaces/:sub`, async (req, reply) =>
    sendResource(reply, renderNic(systemOf(ctx, req.params.id), req.params.sub)),
  );
  refuseOtherMethods(app, `${one}/EthernetInterfaces/:sub`, ['GET']);

  // SecureBoot: enabling needs UEFI (as Ironic checks too); the change counts from the next boot.
  const sbUrl = `${one}/SecureBoot`;
  app.get<P>(sbUrl, async (req, reply) =>
    sendResource(reply, renderSecureBoot(systemOf(ctx, req.params.id))),
  );
  app.patch<P>(sbUrl, { schema: { body: SecureBootPatch } }, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const current = renderSecureBoot(s);
    checkIfMatch(req, current);
    const body = req.body as Json & { SecureBootEnable?: boolean };
    refuseUnwritable(body, ['SecureBootEnable'], current);
    if (body.SecureBootEnable === true && s.machine.bootOverride().mode !== 'uefi') {
      throw Errors.conflict(
        'Secure Boot needs the system to boot in UEFI mode (Boot/BootSourceOverrideMode).',
      );
    }
    if (body.SecureBootEnable !== undefined) s.setSecureBootEnabled(body.SecureBootEnable);
    return sendResource(reply, renderSecureBoot(s));
  });
  refuseOtherMethods(app, sbUrl, ['GET', 'PATCH']);
  app.post<P>(
    `${sbUrl}/Actions/SecureBoot.ResetKeys`,
    { schema: { body: ResetKeysBody } },
    async (req, reply) => {
      const s = systemOf(ctx, req.params.id);
      const { ResetKeysType } = req.body as { ResetKeysType?: unknown };
      if (ResetKeysType === undefined) throw Errors.actionParameterMissing('ResetKeys', 'ResetKeysType');
      if (
        typeof ResetKeysType !== 'string' ||
        !(SECURE_BOOT_RESET_KEYS as readonly string[]).includes(ResetKeysType)
      ) {
        throw Errors.actionParameterValueNotInList(ResetKeysType, 'ResetKeysType', 'ResetKeys');
      }
      s.resetSecureBootKeys(ResetKeysType as SecureBootResetKeys);
      return reply.code(204).send();
    },
  );
  refuseOtherMethods(app, `${sbUrl}/Actions/SecureBoot.ResetKeys`, ['POST']);

  // Bios: the current attributes are read-only; writes go to Settings and apply at the next POST.
  app.get<P>(`${one}/Bios`, async (req, reply) =>
    sendResource(reply, renderBios(systemOf(ctx, req.params.id))),
  );
  refuseOtherMethods(app, `${one}/Bios`, ['GET']);
  app.post<P>(`${one}/Bios/Actions/Bios.ResetBios`, async (req, reply) => {
    systemOf(ctx, req.params.id).resetBiosToDefaults();
    return reply.code(204).send();
  });
  refuseOtherMethods(app, `${one}/Bios/Actions/Bios.ResetBios`, ['POST']);
  app.get<P>(`${one}/Bios/Settings`, async (req, reply) =>
    sendResource(reply, renderBiosSettings(systemOf(ctx, req.params.id))),
  );
  app.patch<P>(`${one}/Bios/Settings`, { schema: { body: BiosPatch } }, async (req, reply) => {
    const s = systemOf(ctx, req.params.id);
    const current = renderBiosSettings(s);
    checkIfMatch(req, current);
    const body = req.body as Json & { Attributes: Record<string, unknown> };
    refuseUnwritable(body, ['Attributes'], current);
    s.setPendingBios(checkBiosAttributes(s, body.Attributes));
    return reply.code(204).send();
  });
  refuseOtherMethods(app, `${one}/Bios/Settings`, ['GET', 'PATCH']);
}
