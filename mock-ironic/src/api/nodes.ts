import { randomUUID } from 'node:crypto';
import { isActionable, isStable } from '../state-machine.ts';
import {
  DELETE_ALLOWED_STATES,
  PowerState,
  ProvisionState as S,
  UPDATE_ALLOWED_STATES,
  VERBS,
} from '../states.ts';
import {
  INTERFACE_FIELDS,
  type InterfaceField,
  isoTime,
  type Json,
  type JsonObject,
  type NodeRecord,
} from '../store/records.ts';
import { type App, type AppDeps, baseUrl, findNode, isUuid } from './app.ts';
import { HARDWARE_TYPES } from './drivers.ts';
import { ApiError } from './errors.ts';
import {
  BootDeviceBody,
  IdentParams,
  JsonPatchBody,
  MaintenanceBody,
  NodeCreateBody,
  PowerBody,
  ProvisionBody,
} from './schemas.ts';
import { Minor } from './versions.ts';
import { NODE_DEFAULT_FIELDS, NODE_FIELDS, nodeView, parseFields, pick } from './views.ts';

const ALLOWED_TARGET_POWER_STATES: string[] = [
  PowerState.ON,
  PowerState.OFF,
  PowerState.REBOOT,
  PowerState.SOFT_REBOOT,
  PowerState.SOFT_POWER_OFF,
];

/** ipmitool management: `get_supported_boot_devices`. */
const BOOT_DEVICES = ['pxe', 'disk', 'cdrom', 'bios', 'safe'];

/** node.py PATCH_ALLOWED_FIELDS. */
const PATCH_ALLOWED_FIELDS = [
  'automated_clean',
  'bios_interface',
  'boot_interface',
  'chassis_uuid',
  'conductor_group',
  'console_interface',
  'deploy_interface',
  'description',
  'driver',
  'driver_info',
  'extra',
  'inspect_interface',
  'instance_info',
  'instance_uuid',
  'lessee',
  'maintenance',
  'management_interface',
  'name',
  'network_data',
  'network_interface',
  'owner',
  'power_interface',
  'properties',
  'protected',
  'protected_reason',
  'raid_interface',
  'rescue_interface',
  'resource_class',
  'retired',
  'retired_reason',
  'shard',
  'storage_interface',
  'vendor_interface',
];

/** A logical name per RFC 3986 unreserved characters (api_utils.is_valid_logical_name). */
const NAME_RE = /^[A-Za-z0-9\-._~]+$/;

function toBool(name: string, v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(s)) return false;
  throw ApiError.badRequest(`Invalid boolean value for ${name}: ${String(v)}`);
}

function checkName(name: string | null): void {
  if (name === null) return;
  if (!NAME_RE.test(name) || isUuid(name)) {
    throw ApiError.badRequest(`Cannot create node with invalid name '${name}'`, 'InvalidParameterValue');
  }
}

/** Driver and interface checks of the conductor's create/update (driver_factory.check_and_update_node_interfaces). */
function resolveInterfaces(driver: string, given: Partial<Record<InterfaceField, string | null>>) {
  const hw = HARDWARE_TYPES[driver];
  if (!hw) {
    throw ApiError.badRequest(
      `No valid host was found. Reason: No conductor service registered which supports driver ${driver} for conductor group "".`,
      'NoValidHost',
    );
  }
  const out = {} as Record<InterfaceField, string>;
  for (const f of INTERFACE_FIELDS) {
    const supported = hw[f] ?? [];
    const want = given[f];
    if (want === undefined || want === null) {
      out[f] = supported[0] ?? '';
      continue;
    }
    if (!supported.includes(want)) {
      const kind = f.replace('_interface', '');
      throw ApiError.badRequest(
        `Could not find a suitable ${kind} interface ${want} for hardware type ${driver}. Enabled and supported interfaces: ${supported.join(', ')}.`,
        'InterfaceNotFoundInEntrypoint',
      );
    }
    out[f] = want;
  }
  return out;
}

// ---- RFC 6902 subset (api_utils.apply_jsonpatch) ------------------------------------------------

function unescapePointer(seg: string): string {
  return seg.replaceAll('~1', '/').replaceAll('~0', '~');
}

function applyPatch(doc: JsonObject, patch: { op: string; path: string; value?: unknown }[]): JsonObject {
  for (const p of patch) {
    if (p.op === 'add' && p.path.split('/').length === 2 && !(p.path.slice(1) in doc)) {
      throw ApiError.badRequest(
        `Adding a new attribute (${p.path}) to the root of the resource is not allowed`,
      );
    }
  }
  for (const p of patch) {
    const segs = p.path.split('/').slice(1).map(unescapePointer);
    const last = segs.pop()!;
    let parent: Json = doc;
    for (const s of segs) {
      if (parent === null || typeof parent !== 'object' || Array.isArray(parent) || !(s in parent)) {
        throw ApiError.badRequest(
          `Couldn't apply patch '${JSON.stringify(p)}'. Reason: can't replace a non-existent object '${s}'`,
          'PatchError',
        );
      }
      parent = (parent as JsonObject)[s] ?? null;
    }
    if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) {
      throw ApiError.badRequest(
        `Couldn't apply patch '${JSON.stringify(p)}'. Reason: invalid path`,
        'PatchError',
      );
    }
    const obj = parent as JsonObject;
    if (p.op === 'remove') {
      if (!(last in obj)) {
        throw ApiError.badRequest(
          `Couldn't apply patch '${JSON.stringify(p)}'. Reason: can't remove a non-existent object '${last}'`,
          'PatchError',
        );
      }
      delete obj[last];
    } else {
      if (!('value' in p)) throw ApiError.badRequest(`'value' is a required property`, 'ClientSideError');
      if (p.op === 'replace' && !(last in obj)) {
        throw ApiError.badRequest(
          `Couldn't apply patch '${JSON.stringify(p)}'. Reason: can't replace a non-existent object '${last}'`,
          'PatchError',
        );
      }
      obj[last] = p.value as Json;
    }
  }
  return doc;
}

export function registerNodeRoutes(app: App, deps: AppDeps): void {
  const { store, conductor } = deps;
  const nowIso = () => isoTime(Date.now());

  // ---- create -----------------------------------------------------------------------------------
  app.post(
    '/v1/nodes',
    { schema: { body: NodeCreateBody }, config: { schemaName: 'node' } },
    async (req, reply) => {
      const b = req.body;
      const uuid = (b.uuid ?? randomUUID()).toLowerCase();
      if (b.uuid && !isUuid(b.uuid)) throw ApiError.badRequest(`Expected UUID for uuid: ${b.uuid}`);
      const name = b.name ?? null;
      checkName(name);
      if (store.getNode(uuid))
        throw ApiError.conflict(`A node with UUID ${uuid} already exists.`, 'NodeAlreadyExists');
      if (name !== null && store.getNodeByName(name)) {
        throw ApiError.conflict(`A node with name ${name} already exists.`, 'DuplicateName');
      }
      const interfaces = resolveInterfaces(
        b.driver,
        Object.fromEntries(
          INTERFACE_FIELDS.map((f) => [f, (b as Record<string, string | null | undefined>)[f]]),
        ),
      );
      const node: NodeRecord = {
        uuid,
        name,
        driver: b.driver,
        driver_info: (b.driver_info as JsonObject | null | undefined) ?? {},
        driver_internal_info: {},
        instance_info: (b.instance_info as JsonObject | null | undefined) ?? {},
        instance_uuid: b.instance_uuid ?? null,
        properties: (b.properties as JsonObject | null | undefined) ?? {},
        extra: (b.extra as JsonObject | null | undefined) ?? {},
        // API 1.11 introduced the enroll state; older requests get available nodes (node.py post()).
        provision_state: req.apiVersion.minor >= Minor.ENROLL_STATE ? S.ENROLL : S.AVAILABLE,
        target_provision_state: null,
        provision_updated_at: null,
        power_state: null,
        target_power_state: null,
        last_error: null,
        maintenance: toBool('maintenance', b.maintenance) ?? false,
        maintenance_reason: null,
        fault: null,
        reservation: null,
        clean_step: {},
        deploy_step: {},
        automated_clean: toBool('automated_clean', b.automated_clean),
        resource_class: b.resource_class ?? null,
        description: b.description ?? null,
        owner: b.owner ?? null,
        lessee: b.lessee ?? null,
        conductor_group: (b.conductor_group ?? '').toLowerCase(),
        console_enabled: false,
        inspection_started_at: null,
        inspection_finished_at: null,
        protected: false,
        protected_reason: null,
        retired: toBool('retired', b.retired) ?? false,
        retired_reason: b.retired_reason ?? null,
        network_data: (b.network_data as JsonObject | null | undefined) ?? {},
        raid_config: {},
        target_raid_config: {},
        traits: [],
        boot_mode: null,
        secure_boot: null,
        shard: b.shard ?? null,
        chassis_uuid: b.chassis_uuid ?? null,
        allocation_uuid: null,
        created_at: nowIso(),
        updated_at: null,
        interfaces,
      };
      store.insertNode(node);
      void reply.code(201).header('Location', `${baseUrl(deps, req)}/v1/nodes/${uuid}`);
      return nodeView(baseUrl(deps, req), node);
    },
  );

  // ---- list -------------------------------------------------------------------------------------
  type ListQuery = {
    fields?: string;
    detail?: string;
    provision_state?: string;
    driver?: string;
    maintenance?: string;
    associated?: string;
    resource_class?: string;
    fault?: string;
    owner?: string;
    lessee?: string;
    conductor_group?: string;
    retired?: string;
    description_contains?: string;
    shard?: string;
    limit?: string;
    marker?: string;
    sort_key?: string;
    sort_dir?: string;
  };

  const list = (req: { query: ListQuery; apiVersion: { minor: number } }, detail: boolean, base: string) => {
    const q = req.query;
    const fields = parseFields(q.fields, NODE_FIELDS);
    if (fields && detail)
      throw ApiError.badRequest('Can not specify ?detail=True and fields in the same request.');
    let nodes = store.listNodes();
    const eq = (key: keyof NodeRecord, value: string | undefined) => {
      if (value !== undefined) nodes = nodes.filter((n) => n[key] === value);
    };
    if (q.provision_state !== undefined && !(Object.values(S) as string[]).includes(q.provision_state)) {
      throw ApiError.badRequest(`Provision state "${q.provision_state}" is not valid`);
    }
    eq('provision_state', q.provision_state);
    eq('driver', q.driver);
    eq('resource_class', q.resource_class);
    eq('fault', q.fault);
    eq('owner', q.owner);
    eq('lessee', q.lessee);
    eq('shard', q.shard);
    if (q.conductor_group !== undefined)
      nodes = nodes.filter((n) => n.conductor_group === q.conductor_group?.toLowerCase());
    if (q.maintenance !== undefined) {
      const m = toBool('maintenance', q.maintenance);
      nodes = nodes.filter((n) => n.maintenance === m);
    }
    if (q.retired !== undefined) {
      const r = toBool('retired', q.retired);
      nodes = nodes.filter((n) => n.retired === r);
    }
    if (q.associated !== undefined) {
      const a = toBool('associated', q.associated);
      nodes = nodes.filter((n) => (n.instance_uuid !== null) === a);
    }
    if (q.description_contains !== undefined) {
      nodes = nodes.filter((n) => n.description?.includes(q.description_contains ?? '') ?? false);
    }
    if (q.sort_key !== undefined) {
      if (!NODE_FIELDS.includes(q.sort_key)) {
        throw ApiError.badRequest(`The sort_key value "${q.sort_key}" is an invalid field for sorting`);
      }
      const key = q.sort_key as keyof NodeRecord;
      const dir = (q.sort_dir ?? 'asc') === 'desc' ? -1 : 1;
      nodes.sort((a, b) =>
        String(a[key] ?? '') < String(b[key] ?? '')
          ? -dir
          : String(a[key] ?? '') > String(b[key] ?? '')
            ? dir
            : 0,
      );
    }
    if (q.sort_dir !== undefined && !['asc', 'desc'].includes(q.sort_dir)) {
      throw ApiError.badRequest(
        `Invalid sort direction: ${q.sort_dir}. Acceptable values are 'asc' or 'desc'`,
      );
    }
    if (q.marker !== undefined) {
      const i = nodes.findIndex((n) => n.uuid === q.marker);
      if (i < 0) throw ApiError.nodeNotFound(q.marker);
      nodes = nodes.slice(i + 1);
    }
    const limit = q.limit !== undefined ? Number(q.limit) : 1000;
    if (!Number.isInteger(limit) || limit < 0)
      throw ApiError.badRequest(`Limit must be positive: ${q.limit}`);
    const page = nodes.slice(0, limit || 1000);
    const shown = page.map((n) => {
      const v = nodeView(base, n);
      if (fields) return pick(v, fields);
      if (detail) return v;
      return pick(v, [...NODE_DEFAULT_FIELDS, 'links']);
    });
    const out: JsonObject = { nodes: shown };
    if (q.limit !== undefined && page.length === limit && nodes.length > limit) {
      const last = page[page.length - 1]!;
      out['next'] = `${base}/v1/nodes${detail ? '/detail' : ''}?limit=${limit}&marker=${last.uuid}`;
    }
    return out;
  };

  app.get<{ Querystring: ListQuery }>('/v1/nodes', async (req) => {
    const detail = req.query.detail !== undefined && toBool('detail', req.query.detail) === true;
    return list(req, detail, baseUrl(deps, req));
  });
  app.get<{ Querystring: ListQuery }>('/v1/nodes/detail', async (req) => list(req, true, baseUrl(deps, req)));

  // ---- show / update / delete -----------------------------------------------------------------
  app.get<{ Params: { ident: string }; Querystring: { fields?: string } }>(
    '/v1/nodes/:ident',
    async (req) => {
      const node = findNode(store, req.params.ident);
      const fields = parseFields(req.query.fields, NODE_FIELDS);
      const view = nodeView(baseUrl(deps, req), node);
      return fields ? pick(view, fields) : view;
    },
  );

  app.patch(
    '/v1/nodes/:ident',
    { schema: { params: IdentParams, body: JsonPatchBody }, config: { schemaName: 'patch' } },
    async (req) => {
      const node = findNode(store, req.params.ident);
      const patch = req.body as { op: string; path: string; value?: unknown }[];
      for (const p of patch) {
        const root = p.path.split('/')[1] ?? '';
        // api/controllers/v1/utils.py patch_validate_allowed_fields: the same refusal for read-only
        // fields (provision_state, uuid, ...) as for unknown ones.
        if (!PATCH_ALLOWED_FIELDS.includes(root)) {
          throw ApiError.badRequest(
            `Cannot patch ${p.path}. Only the following can be updated: ${PATCH_ALLOWED_FIELDS.join(', ')}`,
            'ClientSideError',
          );
        }
      }
      // conductor update_node: only in stable states or UPDATE_ALLOWED_STATES, and not while locked.
      if (
        !isStable(node.provision_state) &&
        !(UPDATE_ALLOWED_STATES as readonly string[]).includes(node.provision_state)
      ) {
        throw ApiError.conflict(
          `Node ${node.uuid} can not be updated while a state transition is in progress.`,
          'InvalidState',
        );
      }
      if (node.reservation !== null) throw ApiError.nodeLocked(node.uuid, node.reservation);
      const doc: JsonObject = {
        ...pick(nodeView('', node), PATCH_ALLOWED_FIELDS),
        driver_info: structuredClone(node.driver_info),
        instance_info: structuredClone(node.instance_info),
      };
      const patched = applyPatch(doc, patch);
      const str = (k: string) => {
        const v = patched[k];
        if (v !== null && v !== undefined && typeof v !== 'string') {
          throw ApiError.badRequest(
            `Schema error for node: ${JSON.stringify(v)} is not of type 'string', 'null'`,
          );
        }
        return (v ?? null) as string | null;
      };
      const obj = (k: string) => {
        const v = patched[k];
        if (v === null || v === undefined) return {};
        if (typeof v !== 'object' || Array.isArray(v)) {
          throw ApiError.badRequest(
            `Schema error for node: ${JSON.stringify(v)} is not of type 'object', 'null'`,
          );
        }
        return v as JsonObject;
      };
      const driver = str('driver');
      if (!driver) throw ApiError.badRequest(`Schema error for node: 'driver' is a required property`);
      const name = str('name');
      checkName(name);
      if (name !== null && name !== node.name && store.getNodeByName(name)) {
        throw ApiError.conflict(`A node with name ${name} already exists.`, 'DuplicateName');
      }
      const ifaceGiven = Object.fromEntries(
        INTERFACE_FIELDS.map((f) => [
          f,
          driver === node.driver || patch.some((p) => p.path === `/${f}`) ? str(f) : null,
        ]),
      );
      const interfaces = resolveInterfaces(driver, ifaceGiven);
      const updated: NodeRecord = {
        ...node,
        name,
        driver,
        interfaces,
        driver_info: obj('driver_info'),
        instance_info: obj('instance_info'),
        properties: obj('properties'),
        extra: obj('extra'),
        network_data: obj('network_data'),
        instance_uuid: str('instance_uuid'),
        description: str('description'),
        owner: str('owner'),
        lessee: str('lessee'),
        resource_class: str('resource_class'),
        conductor_group: (str('conductor_group') ?? '').toLowerCase(),
        shard: str('shard'),
        retired_reason: str('retired_reason'),
        protected_reason: str('protected_reason'),
        automated_clean: toBool('automated_clean', patched['automated_clean']),
        maintenance: toBool('maintenance', patched['maintenance']) ?? false,
        protected: toBool('protected', patched['protected']) ?? false,
        retired: toBool('retired', patched['retired']) ?? false,
        updated_at: nowIso(),
      };
      if (!updated.maintenance) {
        updated.maintenance_reason = null;
        updated.fault = null;
      }
      store.saveNode(updated);
      return nodeView(baseUrl(deps, req), updated);
    },
  );

  app.delete<{ Params: { ident: string } }>('/v1/nodes/:ident', async (req, reply) => {
    const node = findNode(store, req.params.ident);
    if (node.reservation !== null) throw ApiError.nodeLocked(node.uuid, node.reservation);
    if (node.instance_uuid) {
      throw ApiError.conflict(
        `Node ${node.uuid} is associated with instance ${node.instance_uuid}.`,
        'NodeAssociated',
      );
    }
    if (node.protected) {
      throw new ApiError(
        403,
        `Node ${node.uuid} is protected and cannot be undeployed, rebuilt or deleted`,
        'NodeProtected',
      );
    }
    const allowed = [
      ...DELETE_ALLOWED_STATES,
      ...(req.apiVersion.minor < Minor.ENROLL_STATE ? [S.AVAILABLE] : []),
    ];
    if (!node.maintenance && !(allowed as string[]).includes(node.provision_state)) {
      throw ApiError.conflict(
        `Can not delete node "${node.uuid}" while it is in provision state "${node.provision_state}". Valid provision states to perform deletion are: "${allowed.join(', ')}", or set the node into maintenance mode`,
        'InvalidState',
      );
    }
    store.deleteNode(node.uuid);
    return reply.code(204).send();
  });

  // ---- states ---------------------------------------------------------------------------------
  app.get<{ Params: { ident: string } }>('/v1/nodes/:ident/states', async (req) => {
    const n = findNode(store, req.params.ident);
    return {
      boot_mode: n.boot_mode,
      console_enabled: n.console_enabled,
      last_error: n.last_error,
      power_state: n.power_state,
      provision_state: n.provision_state,
      provision_updated_at: n.provision_updated_at,
      raid_config: n.raid_config,
      secure_boot: n.secure_boot,
      target_power_state: n.target_power_state,
      target_provision_state: n.target_provision_state,
      target_raid_config: n.target_raid_config,
    };
  });

  /** NodeStatesController.provision, with its checks in Ironic's order. */
  app.put(
    '/v1/nodes/:ident/states/provision',
    { schema: { params: IdentParams, body: ProvisionBody }, config: { schemaName: 'provision' } },
    async (req, reply) => {
      const node = findNode(store, req.params.ident);
      const { target, clean_steps } = req.body;
      // check_allow_management_verbs: manage/provide need 1.4, inspect 1.6, abort 1.13, clean 1.15.
      const verbMin: Record<string, number> = {
        manage: 4,
        provide: 4,
        inspect: 6,
        abort: 13,
        clean: 15,
        adopt: 17,
        rescue: 38,
        unrescue: 38,
        undeploy: 73,
        deploy: 73,
      };
      if ((verbMin[target] ?? 0) > req.apiVersion.minor)
        throw new ApiError(406, 'Request not acceptable.', 'NotAcceptable');
      if (['active', 'rebuild'].includes(target) && node.maintenance) {
        throw ApiError.badRequest(
          `The provisioning operation can't be performed on node ${node.uuid} because it's in maintenance mode.`,
          'NodeInMaintenance',
        );
      }
      const event = VERBS[target] ?? target;
      if (!isActionable(node.provision_state, event)) {
        if (node.reservation !== null) throw ApiError.nodeLocked(node.uuid, node.reservation);
        throw ApiError.invalidState(target, node.uuid, node.provision_state);
      }
      if (clean_steps && target !== 'clean') {
        throw ApiError.badRequest(
          '"clean_steps" is only valid when setting target provision state to clean',
          'ClientSideError',
        );
      }
      if (target === 'clean' && (!clean_steps || clean_steps.length === 0)) {
        throw ApiError.badRequest(
          '"clean_steps" is required when setting target provision state to clean',
          'ClientSideError',
        );
      }
      if (target === 'clean') {
        for (const s of (clean_steps ?? []) as JsonObject[]) {
          if (typeof s['interface'] !== 'string' || typeof s['step'] !== 'string') {
            throw ApiError.badRequest(
              `Invalid clean_steps: each step needs "interface" and "step": ${JSON.stringify(s)}`,
            );
          }
        }
      }
      const { configdrive } = req.body;
      if (configdrive !== undefined && configdrive !== null) {
        if (!['active', 'rebuild'].includes(target)) {
          throw ApiError.badRequest(
            'Adding a config drive is only supported when setting provision state to active, rebuild',
            'ClientSideError',
          );
        }
        // Kept in instance_info and handed to write_image, as conductor/utils.py does with a URL or
        // a gzipped, base64 image (a dict is passed through unbuilt).
        store.saveNode({
          ...node,
          instance_info: { ...node.instance_info, configdrive: configdrive as Json },
        });
      }
      conductor.provision(node, target, clean_steps ? { cleanSteps: clean_steps as JsonObject[] } : {});
      void reply.code(202).header('Location', `${baseUrl(deps, req)}/v1/nodes/${req.params.ident}/states`);
      return reply.send();
    },
  );

  app.put(
    '/v1/nodes/:ident/states/power',
    { schema: { params: IdentParams, body: PowerBody }, config: { schemaName: 'power' } },
    async (req, reply) => {
      const node = findNode(store, req.params.ident);
      const { target, timeout } = req.body;
      if (([PowerState.SOFT_REBOOT, PowerState.SOFT_POWER_OFF] as string[]).includes(target) || timeout) {
        if (req.apiVersion.minor < 27) throw new ApiError(406, 'Request not acceptable.', 'NotAcceptable');
      }
      if (timeout !== undefined && timeout !== null && timeout < 1) {
        throw ApiError.badRequest('timeout has to be positive integer', 'Invalid');
      }
      if (!ALLOWED_TARGET_POWER_STATES.includes(target)) {
        throw ApiError.invalidState(target, req.params.ident, node.power_state);
      }
      if (node.provision_state === S.CLEANING || node.provision_state === S.CLEANWAIT) {
        throw ApiError.invalidState(target, req.params.ident, node.provision_state);
      }
      if (node.reservation !== null) throw ApiError.nodeLocked(node.uuid, node.reservation);
      conductor.changePowerState(node, target, timeout ?? undefined);
      void reply.code(202).header('Location', `${baseUrl(deps, req)}/v1/nodes/${req.params.ident}/states`);
      return reply.send();
    },
  );

  // ---- management -----------------------------------------------------------------------------
  app.get<{ Params: { ident: string } }>('/v1/nodes/:ident/management/boot_device', async (req) => {
    const node = findNode(store, req.params.ident);
    return conductor.getBootDevice(node);
  });

  app.get<{ Params: { ident: string } }>('/v1/nodes/:ident/management/boot_device/supported', async (req) => {
    const node = findNode(store, req.params.ident);
    return {
      supported_boot_devices:
        node.interfaces.management_interface === 'fake' ? ['pxe', 'disk'] : BOOT_DEVICES,
    };
  });

  app.put(
    '/v1/nodes/:ident/management/boot_device',
    { schema: { params: IdentParams, body: BootDeviceBody }, config: { schemaName: 'boot_device' } },
    async (req, reply) => {
      const node = findNode(store, req.params.ident);
      if (node.reservation !== null) throw ApiError.nodeLocked(node.uuid, node.reservation);
      if (!BOOT_DEVICES.includes(req.body.boot_device)) {
        throw ApiError.badRequest(`Invalid boot device ${req.body.boot_device} specified.`);
      }
      await conductor.setBootDevice(node, req.body.boot_device, req.body.persistent ?? false);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { ident: string } }>('/v1/nodes/:ident/validate', async (req) => {
    return conductor.validate(findNode(store, req.params.ident));
  });

  // ---- maintenance ----------------------------------------------------------------------------
  const setMaintenance = (ident: string, on: boolean, reason: string | null) => {
    const node = findNode(store, ident);
    node.maintenance = on;
    node.maintenance_reason = on ? reason : null;
    if (!on) node.fault = null;
    node.updated_at = nowIso();
    store.saveNode(node);
  };
  app.put(
    '/v1/nodes/:ident/maintenance',
    { schema: { params: IdentParams, body: MaintenanceBody }, config: { schemaName: 'maintenance' } },
    async (req, reply) => {
      setMaintenance(req.params.ident, true, req.body?.reason ?? null);
      return reply.code(202).send();
    },
  );
  app.delete<{ Params: { ident: string } }>('/v1/nodes/:ident/maintenance', async (req, reply) => {
    setMaintenance(req.params.ident, false, null);
    return reply.code(202).send();
  });
}
