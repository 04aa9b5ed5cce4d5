import type { ProvisionState } from '../states.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The hardware interfaces a node uses; names as Ironic's API shows them (`<kind>_interface`). */
export const INTERFACE_FIELDS = [
  'bios_interface',
  'boot_interface',
  'console_interface',
  'deploy_interface',
  'firmware_interface',
  'inspect_interface',
  'management_interface',
  'network_interface',
  'power_interface',
  'raid_interface',
  'rescue_interface',
  'storage_interface',
  'vendor_interface',
] as const;
export type InterfaceField = (typeof INTERFACE_FIELDS)[number];

/**
 * A node as the mock stores it: the fields of Ironic's node object (ironic/objects/node.py) that the
 * API shows. `driver_internal_info.agent_secret_token` holds the agent token as in Ironic.
 */
export interface NodeRecord {
  uuid: string;
  name: string | null;
  driver: string;
  driver_info: JsonObject;
  driver_internal_info: JsonObject;
  instance_info: JsonObject;
  instance_uuid: string | null;
  properties: JsonObject;
  extra: JsonObject;
  provision_state: ProvisionState;
  target_provision_state: ProvisionState | null;
  provision_updated_at: string | null;
  power_state: string | null;
  target_power_state: string | null;
  last_error: string | null;
  maintenance: boolean;
  maintenance_reason: string | null;
  fault: string | null;
  reservation: string | null;
  clean_step: JsonObject;
  deploy_step: JsonObject;
  automated_clean: boolean | null;
  resource_class: string | null;
  description: string | null;
  owner: string | null;
  lessee: string | null;
  conductor_group: string;
  console_enabled: boolean;
  inspection_started_at: string | null;
  inspection_finished_at: string | null;
  protected: boolean;
  protected_reason: string | null;
  retired: boolean;
  retired_reason: string | null;
  network_data: JsonObject;
  raid_config: JsonObject;
  target_raid_config: JsonObject;
  traits: string[];
  boot_mode: string | null;
  secure_boot: boolean | null;
  shard: string | null;
  chassis_uuid: string | null;
  allocation_uuid: string | null;
  created_at: string;
  updated_at: string | null;
  interfaces: Record<InterfaceField, string>;
}

export interface PortRecord {
  uuid: string;
  address: string;
  node_uuid: string;
  extra: JsonObject;
  local_link_connection: JsonObject;
  pxe_enabled: boolean;
  physical_network: string | null;
  is_smartnic: boolean;
  name: string | null;
  portgroup_uuid: string | null;
  internal_info: JsonObject;
  created_at: string;
  updated_at: string | null;
}

/** Timestamps as Ironic's API shows them: seconds, explicit UTC offset ("2026-01-02T03:04:05+00:00"). */
export function isoTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}
