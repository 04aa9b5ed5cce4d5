/**
 * In-band inspection (IPA `inspector.py`): with `ipa-inspection-callback-url` on the kernel line the
 * ramdisk collects its inventory and POSTs it before lookup. The `default` collector sends
 * `{inventory, root_disk, boot_interface, configuration}`, the `logs` collector adds `logs`, and
 * `error` is always present (reference inspector.md §6). The POST is retried on connection errors only,
 * 5 attempts 5 s apart; an HTTP error is logged and the agent goes on with lookup.
 */
import type { AgentParams } from './cmdline.ts';
import { hardwareManager } from './hardware.ts';
import type { AgentHost, HostInventory, InventoryDisk } from './host.ts';
import { gzipAndB64 } from './tar.ts';

/** The inventory as IPA's `list_hardware_info` reports it: the host's facts plus BOOTIF. */
export async function collectInventory(host: AgentHost, params: AgentParams): Promise<HostInventory> {
  const inv = await host.inventory();
  return { ...inv, boot: { ...inv.boot, pxe_interface: params.bootif ?? null } };
}

/** `utils.guess_root_disk`: the smallest disk of at least 4 GiB, by (size, name). */
export function guessRootDisk(
  disks: readonly InventoryDisk[],
  minSize = 4 * 1024 ** 3,
): InventoryDisk | undefined {
  return [...disks]
    .sort((a, b) => a.size - b.size || a.name.localeCompare(b.name))
    .find((d) => d.size >= minSize);
}

export interface InspectionData {
  inventory: HostInventory;
  root_disk?: InventoryDisk;
  boot_interface: string | null;
  configuration: { collectors: readonly string[]; managers: readonly { name: string; version: string }[] };
  logs?: string;
  error: string | null;
}

export async function collectInspectionData(
  host: AgentHost,
  params: AgentParams,
  agentLog: () => readonly string[],
): Promise<InspectionData> {
  const inventory = await collectInventory(host, params);
  const root = guessRootDisk(inventory.disks);
  const data: InspectionData = {
    inventory,
    ...(root === undefined ? {} : { root_disk: root }),
    boot_interface: inventory.boot.pxe_interface,
    configuration: { collectors: params.inspectionCollectors, managers: [{ ...hardwareManager }] },
    error: null,
  };
  if (params.inspectionCollectors.includes('logs')) {
    data.logs = gzipAndB64({
      ...(await host.systemLogs()),
      'ironic-python-agent.log': `${agentLog().join('\n')}\n`,
    });
  }
  return data;
}

export interface PostOptions {
  readonly fetch: typeof globalThis.fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly attempts?: number;
  readonly retryWaitMs?: number;
  readonly log: (line: string) => void;
}

/** POSTs the data; returns inspector's answer (`{"uuid": ...}`) or undefined after an HTTP error. */
export async function postInspection(
  url: string,
  data: InspectionData,
  opts: PostOptions,
): Promise<{ uuid?: string } | undefined> {
  const attempts = opts.attempts ?? 5;
  for (let i = 1; ; i++) {
    let res: Response;
    try {
      res = await opts.fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(data),
      });
    } catch (err) {
      if (i >= attempts) throw err;
      opts.log(
        `inspection: connection error posting to ${url} (attempt ${i}/${attempts}): ${(err as Error).message}`,
      );
      await opts.sleep(opts.retryWaitMs ?? 5000);
      continue;
    }
    const text = await res.text();
    if (res.status >= 400) {
      opts.log(`inspector ${url} error ${res.status}: ${text}, proceeding with lookup`);
      return undefined;
    }
    try {
      return JSON.parse(text) as { uuid?: string };
    } catch {
      return {};
    }
  }
}
