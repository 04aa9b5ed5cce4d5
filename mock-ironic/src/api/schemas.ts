import { type TSchema, Type } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const StrOrNull = Nullable(Type.String());
const BoolLike = Type.Union([Type.Boolean(), Type.String(), Type.Null()]);
const Obj = Nullable(Type.Object({}, { additionalProperties: true }));

/** node.py `node_schema()` (21.4): the body of `POST /v1/nodes`. */
export const NodeCreateBody = Type.Object(
  {
    automated_clean: Type.Optional(BoolLike),
    bios_interface: Type.Optional(StrOrNull),
    boot_interface: Type.Optional(StrOrNull),
    boot_mode: Type.Optional(StrOrNull),
    chassis_uuid: Type.Optional(StrOrNull),
    conductor_group: Type.Optional(StrOrNull),
    console_enabled: Type.Optional(BoolLike),
    console_interface: Type.Optional(StrOrNull),
    deploy_interface: Type.Optional(StrOrNull),
    description: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    driver: Type.String(),
    driver_info: Type.Optional(Obj),
    extra: Type.Optional(Obj),
    inspect_interface: Type.Optional(StrOrNull),
    instance_info: Type.Optional(Obj),
    instance_uuid: Type.Optional(StrOrNull),
    lessee: Type.Optional(StrOrNull),
    management_interface: Type.Optional(StrOrNull),
    maintenance: Type.Optional(BoolLike),
    name: Type.Optional(StrOrNull),
    network_data: Type.Optional(Obj),
    network_interface: Type.Optional(StrOrNull),
    owner: Type.Optional(StrOrNull),
    power_interface: Type.Optional(StrOrNull),
    properties: Type.Optional(Obj),
    raid_interface: Type.Optional(StrOrNull),
    rescue_interface: Type.Optional(StrOrNull),
    resource_class: Type.Optional(Nullable(Type.String({ maxLength: 80 }))),
    retired: Type.Optional(BoolLike),
    retired_reason: Type.Optional(StrOrNull),
    secure_boot: Type.Optional(BoolLike),
    shard: Type.Optional(StrOrNull),
    storage_interface: Type.Optional(StrOrNull),
    uuid: Type.Optional(StrOrNull),
    vendor_interface: Type.Optional(StrOrNull),
  },
  { additionalProperties: false },
);

/** RFC 6902 operations as Ironic accepts them (api/controllers/v1/utils.py JSONPATCH schema). */
export const JsonPatchBody = Type.Array(
  Type.Object(
    {
      op: Type.Union([Type.Literal('add'), Type.Literal('replace'), Type.Literal('remove')]),
      path: Type.String({ pattern: '^(/[\\w-]+)+$' }),
      value: Type.Optional(Type.Unknown()),
    },
    { additionalProperties: false },
  ),
);

export const IdentParams = Type.Object({ ident: Type.String() });

/** `PUT /v1/nodes/{id}/states/provision`. */
export const ProvisionBody = Type.Object(
  {
    target: Type.String(),
    configdrive: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.String(), Type.Null()]),
    ),
    clean_steps: Type.Optional(Nullable(Type.Array(Type.Object({}, { additionalProperties: true })))),
    deploy_steps: Type.Optional(Nullable(Type.Array(Type.Object({}, { additionalProperties: true })))),
    rescue_password: Type.Optional(Type.String()),
    disable_ramdisk: Type.Optional(Nullable(Type.Boolean())),
  },
  { additionalProperties: false },
);

/** `PUT /v1/nodes/{id}/states/power`. */
export const PowerBody = Type.Object(
  { target: Type.String(), timeout: Type.Optional(Nullable(Type.Integer())) },
  { additionalProperties: false },
);

export const BootDeviceBody = Type.Object(
  { boot_device: Type.String(), persistent: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const MaintenanceBody = Type.Object(
  { reason: Type.Optional(StrOrNull) },
  { additionalProperties: false },
);

/** port.py PORT_SCHEMA. */
export const PortCreateBody = Type.Object(
  {
    address: Type.String(),
    node_uuid: Type.String(),
    extra: Type.Optional(Obj),
    is_smartnic: Type.Optional(BoolLike),
    local_link_connection: Type.Optional(Obj),
    physical_network: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    portgroup_uuid: Type.Optional(StrOrNull),
    pxe_enabled: Type.Optional(BoolLike),
    uuid: Type.Optional(StrOrNull),
  },
  { additionalProperties: false },
);

/** ramdisk.py HeartbeatController.post arguments. */
export const HeartbeatBody = Type.Object(
  {
    callback_url: Type.String(),
    agent_version: Type.Optional(Type.String()),
    agent_token: Type.Optional(Type.String()),
    agent_verify_ca: Type.Optional(Type.String()),
    agent_status: Type.Optional(Type.String()),
    agent_status_message: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
