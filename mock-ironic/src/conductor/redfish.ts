import { createLogger } from '../../../common/src/index.ts';
import { ApiError } from '../api/errors.ts';
import { PowerState } from '../states.ts';
import type { JsonObject } from '../store/records.ts';

const log = createLogger('mock-ironic:redfish');

/** driver_info of a `redfish` node (redfish/utils.py `parse_driver_info`). */
export interface RedfishDriverInfo {
  address: string;
  systemId: string | null;
  username: string | null;
  password: string | null;
}

export function parseRedfishDriverInfo(nodeUuid: string, info: JsonObject): RedfishDriverInfo {
  const address = info['redfish_address'];
  if (typeof address !== 'string' || address === '') {
    throw ApiError.badRequest(
      `Missing the following Redfish properties in node ${nodeUuid} driver_info: ['redfish_address']`,
      'MissingParameterValue',
    );
  }
  const str = (k: string) => (typeof info[k] === 'string' && info[k] !== '' ? String(info[k]) : null);
  // "If the scheme is missing, https is assumed."
  return {
    address: /^https?:\/\//.test(address) ? address.replace(/\/$/, '') : `https://${address}`,
    systemId: str('redfish_system_id'),
    username: str('redfish_username'),
    password: str('redfish_password'),
  };
}

/** redfish/power.py GET_POWER_STATE_MAP. */
const POWER_MAP: Record<string, string> = {
  On: PowerState.ON,
  PoweringOn: PowerState.ON,
  Off: PowerState.OFF,
  PoweringOff: PowerState.OFF,
};

/** redfish/management.py BOOT_DEVICE_MAP. */
const BOOT_TARGETS: Record<string, string> = { pxe: 'Pxe', disk: 'Hdd', cdrom: 'Cd', bios: 'BiosSetup' };

const ARCH: Record<string, string> = { x86: 'x86_64', 'IA-64': 'ia64', ARM: 'arm', MIPS: 'mips', OEM: 'oem' };

/**
 * What Ironic's redfish interfaces do through sushy, over plain HTTP: read the ComputerSystem,
 * `ComputerSystem.Reset` for power, PATCH `Boot` for the boot device, and the OOB inspection walk
 * (redfish/inspect.py; mapping in the reference §4).
 */
export class RedfishClient {
  async #get(info: RedfishDriverInfo, path: string): Promise<JsonObject> {
    const res = await fetch(path.startsWith('http') ? path : `${info.address}${path}`, {
      headers: this.#headers(info),
    });
    if (!res.ok) throw new Error(`Redfish GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as JsonObject;
  }

  #headers(info: RedfishDriverInfo): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', 'OData-Version': '4.0' };
    if (info.username)
      h['Authorization'] =
        `Basic ${Buffer.from(`${info.username}:${info.password ?? ''}`).toString('base64')}`;
    return h;
  }

  /** redfish_utils.get_system: the given system, or the only one of the Systems collection. */
  async #systemPath(info: RedfishDriverInfo): Promise<string> {
    if (info.systemId) return info.systemId;
    const root = await this.#get(info, '/redfish/v1/');
    const systems = await this.#get(info, String((root['Systems'] as JsonObject)['@odata.id']));
    const members = (systems['Members'] as JsonObject[] | undefined) ?? [];
    if (members.length !== 1) {
      throw new Error(
        `Redfish system cannot be determined: ${members.length} systems and no redfish_system_id`,
      );
    }
    return String(members[0]!['@odata.id']);
  }

  async system(info: RedfishDriverInfo): Promise<JsonObject> {
    return this.#get(info, await this.#systemPath(info));
  }

  async powerState(info: RedfishDriverInfo): Promise<string> {
    const s = await this.system(info);
    return POWER_MAP[String(s['PowerState'])] ?? 'error';
  }

  /** `reset_system`: POST the ResetType to the action target the System advertises. */
  async reset(
    info: RedfishDriverInfo,
    resetType: 'On' | 'ForceOff' | 'GracefulShutdown' | 'ForceRestart',
  ): Promise<void> {
    const path = await this.#systemPath(info);
    const s = await this.#get(info, path);
    const action = (s['Actions'] as JsonObject | undefined)?.['#ComputerSystem.Reset'] as
      | JsonObject
      | undefined;
    const target =
      typeof action?.['target'] === 'string' ? action['target'] : `${path}/Actions/ComputerSystem.Reset`;
    const res = await fetch(`${info.address}${target}`, {
      method: 'POST',
      headers: { ...this.#headers(info), 'Content-Type': 'application/json' },
      body: JSON.stringify({ ResetType: resetType }),
    });
    if (!res.ok) throw new Error(`Redfish ${resetType}: HTTP ${res.status}`);
    log.debug('%s %s', resetType, path);
  }

  async setBootDevice(info: RedfishDriverInfo, device: string, persistent: boolean): Promise<void> {
    const target = BOOT_TARGETS[device];
    if (!target) throw ApiError.badRequest(`Invalid boot device ${device} specified.`);
    const path = await this.#systemPath(info);
    const res = await fetch(`${info.address}${path}`, {
      method: 'PATCH',
      headers: { ...this.#headers(info), 'Content-Type': 'application/json' },
      body: JSON.stringify({
        Boot: {
          BootSourceOverrideTarget: target,
          BootSourceOverrideEnabled: persistent ? 'Continuous' : 'Once',
        },
      }),
    });
    if (!res.ok) throw new Error(`Redfish set boot device ${device}: HTTP ${res.status}`);
  }

  async getBootDevice(
    info: RedfishDriverInfo,
  ): Promise<{ boot_device: string | null; persistent: boolean | null }> {
    const boot = ((await this.system(info))['Boot'] as JsonObject | undefined) ?? {};
    const dev =
      Object.entries(BOOT_TARGETS).find(([, t]) => t === boot['BootSourceOverrideTarget'])?.[0] ?? null;
    return { boot_device: dev, persistent: boot['BootSourceOverrideEnabled'] === 'Continuous' };
  }

  async #members(info: RedfishDriverInfo, link: unknown): Promise<JsonObject[]> {
    const id = (link as JsonObject | undefined)?.['@odata.id'];
    if (typeof id !== 'string') return [];
    const coll = await this.#get(info, id);
    return Promise.all(
      ((coll['Members'] as JsonObject[] | undefined) ?? []).map((m) =>
        this.#get(info, String(m['@odata.id'])),
      ),
    );
  }

  /**
   * RedfishInspect.inspect_hardware: memory_mb, cpus (sum of TotalThreads), cpu_arch, local_gb
   * (GiB - 1 of the disks, sizes under 4 GiB ignored; min of SimpleStorage and Storage when both),
   * boot mode capability, and the MACs of enabled, healthy NICs.
   */
  async inspect(
    info: RedfishDriverInfo,
  ): Promise<{ properties: JsonObject; macs: string[]; missing: string[] }> {
    const s = await this.system(info);
    const props: JsonObject = {};
    const mem = (s['MemorySummary'] as JsonObject | undefined)?.['TotalSystemMemoryGiB'];
    if (typeof mem === 'number') props['memory_mb'] = Math.round(mem * 1024);
    const procs = await this.#members(info, s['Processors']);
    if (procs.length > 0) {
      props['cpus'] = procs.reduce((a, p) => a + Number(p['TotalThreads'] ?? 0), 0);
      const arch = procs.map((p) => p['ProcessorArchitecture']).find((a) => typeof a === 'string');
      if (typeof arch === 'string') props['cpu_arch'] = ARCH[arch] ?? arch;
    }
    const GiB = 2 ** 30;
    const simple = (await this.#members(info, s['SimpleStorage']))
      .flatMap((m) => (m['Devices'] as JsonObject[] | undefined) ?? [])
      .filter((d) => (d['Status'] as JsonObject | undefined)?.['State'] === 'Enabled')
      .map((d) => Number(d['CapacityBytes'] ?? 0))
      .filter((b) => b >= 4 * GiB);
    const storageSizes: number[] = [];
    for (const st of await this.#members(info, s['Storage'])) {
      const volumes = await this.#members(info, st['Volumes']);
      const sizes = volumes.length > 0 ? volumes.map((v) => Number(v['CapacityBytes'] ?? 0)) : [];
      if (sizes.length === 0) {
        for (const d of (st['Drives'] as JsonObject[] | undefined) ?? []) {
          const drive =
            typeof d['@odata.id'] === 'string' && d['CapacityBytes'] === undefined
              ? await this.#get(info, d['@odata.id'])
              : d;
          sizes.push(Number(drive['CapacityBytes'] ?? 0));
        }
      }
      storageSizes.push(...sizes.filter((b) => b >= 4 * GiB));
    }
    const simpleMax = simple.length > 0 ? Math.max(...simple) : undefined;
    const storageMax = storageSizes.length > 0 ? Math.max(...storageSizes) : undefined;
    const bytes =
      simpleMax !== undefined && storageMax !== undefined
        ? Math.min(simpleMax, storageMax)
        : (simpleMax ?? storageMax);
    if (bytes !== undefined) props['local_gb'] = Math.max(Math.floor(bytes / GiB) - 1, 0);
    const mode = (s['Boot'] as JsonObject | undefined)?.['BootSourceOverrideMode'];
    if (mode === 'UEFI' || mode === 'Legacy')
      props['capabilities'] = `boot_mode:${mode === 'UEFI' ? 'uefi' : 'bios'}`;
    const macs = (await this.#members(info, s['EthernetInterfaces']))
      .filter((n) => {
        const st = (n['Status'] as JsonObject | undefined) ?? {};
        return st['State'] === 'Enabled' && st['Health'] === 'OK' && typeof n['MACAddress'] === 'string';
      })
      .map((n) => String(n['MACAddress']).toLowerCase());
    const missing = ['memory_mb', 'local_gb', 'cpus', 'cpu_arch'].filter((k) => props[k] === undefined);
    return { properties: props, macs, missing };
  }
}
