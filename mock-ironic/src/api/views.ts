import type { Json, JsonObject, NodeRecord, PortRecord } from '../store/records.ts';
import { INTERFACE_FIELDS } from '../store/records.ts';
import { ApiError } from './errors.ts';

export function link(base: string, rel: 'self' | 'bookmark', resource: string, id: string): JsonObject {
  const prefix = rel === 'self' ? `${base}/v1` : base;
  return { href: `${prefix}/${resource}/${id}`, rel };
}

const links = (base: string, resource: string, id: string): Json => [
  link(base, 'self', resource, id),
  link(base, 'bookmark', resource, id),
];

/** Secrets never leave the API in clear (objects/node.py as_dict(mask_secrets=True)). */
function maskDriverInfo(info: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(info))
    out[k] = k.endsWith('password') || k === 'ipmi_hex_kg_key' ? '******' : v;
  return out;
}

function maskInternal(info: JsonObject): JsonObject {
  const out = { ...info };
  if ('agent_secret_token' in out) out['agent_secret_token'] = '******';
  return out;
}

function maskInstanceInfo(info: JsonObject): JsonObject {
  const out = { ...info };
  if (out['configdrive']) out['configdrive'] = '******';
  if (out['image_url']) out['image_url'] = '******';
  return out;
}

/** Every field of the node resource at API 1.82, as `GET /v1/nodes/{id}` returns it. */
export function nodeView(base: string, n: NodeRecord): JsonObject {
  const view: JsonObject = {
    allocation_uuid: n.allocation_uuid,
    automated_clean: n.automated_clean,
    boot_mode: n.boot_mode,
    chassis_uuid: n.chassis_uuid,
    clean_step: n.clean_step,
    conductor: 'mock-ironic',
    conductor_group: n.conductor_group,
    console_enabled: n.console_enabled,
    created_at: n.created_at,
    deploy_step: n.deploy_step,
    description: n.description,
    driver: n.driver,
    driver_info: maskDriverInfo(n.driver_info),
    driver_internal_info: maskInternal(n.driver_internal_info),
    extra: n.extra,
    fault: n.fault,
    inspection_finished_at: n.inspection_finished_at,
    inspection_started_at: n.inspection_started_at,
    instance_info: maskInstanceInfo(n.instance_info),
    instance_uuid: n.instance_uuid,
    last_error: n.last_error,
    lessee: n.lessee,
    links: links(base, 'nodes', n.uuid),
    maintenance: n.maintenance,
    maintenance_reason: n.maintenance_reason,
    name: n.name,
    network_data: n.network_data,
    owner: n.owner,
    ports: links(base, 'nodes', `${n.uuid}/ports`),
    portgroups: links(base, 'nodes', `${n.uuid}/portgroups`),
    power_state: n.power_state,
    properties: n.properties,
    protected: n.protected,
    protected_reason: n.protected_reason,
    provision_state: n.provision_state,
    provision_updated_at: n.provision_updated_at,
    raid_config: n.raid_config,
    reservation: n.reservation,
    resource_class: n.resource_class,
    retired: n.retired,
    retired_reason: n.retired_reason,
    secure_boot: n.secure_boot,
    shard: n.shard,
    states: links(base, 'nodes', `${n.uuid}/states`),
    target_power_state: n.target_power_state,
    target_provision_state: n.target_provision_state,
    target_raid_config: n.target_raid_config,
    traits: n.traits,
    updated_at: n.updated_at,
    uuid: n.uuid,
    volume: links(base, 'nodes', `${n.uuid}/volume`),
  };
  for (const f of INTERFACE_FIELDS) if (f !== 'firmware_interface') view[f] = n.interfaces[f];
  return view;
}

/** The fields `GET /v1/nodes` shows without `detail` (node.py _DEFAULT_RETURN_FIELDS) plus links. */
export const NODE_DEFAULT_FIELDS = [
  'instance_uuid',
  'maintenance',
  'power_state',
  'provision_state',
  'uuid',
  'name',
];

export const NODE_FIELDS = [
  ...Object.keys(
    nodeView('', {
      interfaces: Object.fromEntries(INTERFACE_FIELDS.map((f) => [f, ''])),
      driver_info: {},
      driver_internal_info: {},
      instance_info: {},
    } as unknown as NodeRecord),
  ),
];

/** api_utils.check_for_invalid_fields. */
export function parseFields(raw: string | undefined, known: readonly string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const invalid = fields.filter((f) => !known.includes(f));
  if (invalid.length > 0)
    throw ApiError.badRequest(`Field(s) "${invalid.join(', ')}" are not valid`, 'InvalidParameterValue');
  return fields;
}

export function pick(view: JsonObject, fields: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const f of fields) if (f in view) out[f] = view[f]!;
  return out;
}

export function portView(base: string, p: PortRecord): JsonObject {
  return {
    address: p.address,
    created_at: p.created_at,
    extra: p.extra,
    internal_info: p.internal_info,
    is_smartnic: p.is_smartnic,
    links: links(base, 'ports', p.uuid),
    local_link_connection: p.local_link_connection,
    node_uuid: p.node_uuid,
    physical_network: p.physical_network,
    portgroup_uuid: p.portgroup_uuid,
    pxe_enabled: p.pxe_enabled,
    updated_at: p.updated_at,
    uuid: p.uuid,
  };
}

export const PORT_FIELDS = Object.keys(portView('', { uuid: '' } as PortRecord));
export const PORT_DEFAULT_FIELDS = ['uuid', 'address'];
