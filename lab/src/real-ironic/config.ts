/**
 * The configuration files of a standalone Debian Ironic 21.4 and ironic-inspector 11.1 next to a
 * lab (reference ironic.md §2, inspector.md §2-3). Everything lives under the given state
 * directory: nothing under /etc is read for settings or written.
 */

export interface IronicConfOptions {
  readonly stateDir: string;
  readonly apiPort: number;
  readonly rpcPort: number;
  /** `[deploy]http_root`: the lab's HTTP boot root. */
  readonly httpRoot: string;
  /** `[deploy]http_url`: where the lab serves that root. */
  readonly httpUrl: string;
  /** `[ipmi]min_command_interval` (s); Ironic's default is 5, the reference lab used 1. */
  readonly minCommandInterval: number;
  /** `[conductor]automated_clean`. */
  readonly automatedClean: boolean;
  /** `[conductor]deploy_callback_timeout` (s). */
  readonly deployCallbackTimeout: number;
  /** `[ipmi]command_retry_timeout` (s). */
  readonly ipmiRetryTimeout: number;
  /**
   * `[agent]post_deploy_get_power_state_retries`: polls (1 s apart) for the machine to power off
   * after `standby.power_off` before Ironic forces it. A fake power interface never sees it: 1.
   */
  readonly powerOffPolls: number;
  readonly inspector?: {
    /** Where Ironic reaches inspector's API. */
    readonly url: string;
    /** `ipa-inspection-callback-url` without `/v1/continue`: a non-loopback address (pitfall 1). */
    readonly callbackUrl: string;
  };
}

/** The reference configuration, with the lab's boot root and the agent timings of a lab. */
export function ironicConf(o: IronicConfOptions): string {
  const s = o.stateDir;
  const inspector =
    o.inspector === undefined
      ? 'endpoint_override = http://127.0.0.1:5050'
      : `endpoint_override = ${o.inspector.url}
# Ironic refuses a loopback callback URL (inspector.md pitfall 1): the lab's provisioning address.
callback_endpoint_override = ${o.inspector.callbackUrl}
# The default 60 s poll of inspector dominates an inspection (inspector.md pitfall 6).
status_check_period = 5`;
  return `[DEFAULT]
debug = True
log_dir = ${s}/logs
auth_strategy = noauth
rpc_transport = none
host = ironic-lab
state_path = ${s}
tempdir = ${s}/tmp
enabled_hardware_types = ipmi,redfish,manual-management,fake-hardware
enabled_boot_interfaces = pxe,ipxe,fake,redfish-virtual-media
enabled_deploy_interfaces = direct,ramdisk,fake,custom-agent
enabled_inspect_interfaces = no-inspect,fake,redfish,inspector
enabled_management_interfaces = ipmitool,redfish,noop,fake
enabled_power_interfaces = ipmitool,redfish,fake
enabled_network_interfaces = noop,flat
default_network_interface = noop
enabled_console_interfaces = no-console,fake
enabled_raid_interfaces = no-raid,agent,fake
enabled_rescue_interfaces = no-rescue,fake
enabled_storage_interfaces = noop,fake
enabled_vendor_interfaces = no-vendor,ipmitool,fake
enabled_bios_interfaces = no-bios,fake
default_deploy_interface = direct
default_inspect_interface = no-inspect
minimum_memory_warning_only = True
[api]
host_ip = 127.0.0.1
port = ${o.apiPort}
api_workers = 1
[database]
connection = sqlite:///${s}/ironic.sqlite
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = ${o.automatedClean ? 'True' : 'False'}
sync_power_state_interval = 30
check_provision_state_interval = 2
heartbeat_interval = 10
deploy_callback_timeout = ${o.deployCallbackTimeout}
file_url_allowed_paths = ${s}/files,/var/lib/ironic
[service_catalog]
endpoint_override = http://127.0.0.1:${o.apiPort}
auth_type = none
[deploy]
http_url = ${o.httpUrl}
http_root = ${o.httpRoot}
default_boot_mode = bios
fast_track = False
[pxe]
tftp_server = 127.0.0.1
tftp_root = ${s}/tftpboot
tftp_master_path = ${s}/tftp_master
images_path = ${s}/images
instance_master_path = ${s}/master_images
[agent]
command_wait_interval = 2
command_wait_attempts = 30
require_tls = False
deploy_logs_collect = never
# The lab's machines power off as soon as the agent says so: poll for it every second.
post_deploy_get_power_state_retries = ${o.powerOffPolls}
post_deploy_get_power_state_retry_interval = 1
[ipmi]
min_command_interval = ${o.minCommandInterval}
command_retry_timeout = ${o.ipmiRetryTimeout}
[json_rpc]
auth_strategy = noauth
host_ip = 127.0.0.1
port = ${o.rpcPort}
[inspector]
auth_type = none
${inspector}
[oslo_policy]
policy_dirs = ${s}/policy.d
[oslo_concurrency]
lock_path = ${s}/locks
`;
}

export interface InspectorConfOptions {
  readonly stateDir: string;
  readonly port: number;
  readonly ironicUrl: string;
  /** `[DEFAULT]timeout` (s): how long inspector waits for the ramdisk's data. */
  readonly timeout: number;
}

/**
 * inspector.md §2: noauth, sqlite, `transport_url = fake://` (without it /v1/continue hangs retrying
 * RabbitMQ, pitfall 3), noop PXE filter (no dnsmasq/iptables), processed data stored in its database
 * so Ironic can fetch the inventory (pitfall 5). `clean_up_period` is how often the timeout is checked.
 */
export function inspectorConf(o: InspectorConfOptions): string {
  const s = o.stateDir;
  return `[DEFAULT]
auth_strategy = noauth
standalone = True
transport_url = fake://
listen_address = 127.0.0.1
listen_port = ${o.port}
host = inspector-lab
timeout = ${o.timeout}
clean_up_period = ${Math.max(1, Math.min(60, Math.floor(o.timeout / 4)))}
[database]
connection = sqlite:///${s}/inspector.sqlite
[ironic]
auth_type = none
endpoint_override = ${o.ironicUrl}
[pxe_filter]
driver = noop
[processing]
store_data = database
ramdisk_logs_dir = ${s}/ramdisk-logs
[oslo_policy]
policy_dirs = ${s}/policy.d
`;
}
