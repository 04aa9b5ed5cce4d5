/**
 * A client of the lab API: what a scenario may know about the lab and change in it (faults),
 * over HTTP only — a scenario never reaches into the lab's objects.
 */
import { BmlabError } from '../../common/src/index.ts';

export interface LabNodeInfo {
  readonly name: string;
  /** `sim` (simulated in the lab process) or `qemu` (a real VM). */
  readonly backend?: 'sim' | 'qemu';
  readonly power: 'on' | 'off';
  readonly bootOverride: { device: string; persistent: boolean; mode: string };
  readonly lastBootDevice: string | null;
  readonly runState: string;
  readonly bmc: {
    ipmi: { address: string; port: number };
    /** The lab's Redfish service and this node's System, when the lab serves Redfish. */
    redfish: { url: string; systemId: string } | null;
    username: string;
    password: string;
  };
  readonly macs: readonly string[];
  readonly spec: {
    cpus: number;
    memoryMiB: number;
    arch: string;
    disks: readonly { name: string; sizeBytes: number }[];
  };
  readonly disk: { checksum: string; sizeBytes: number; os: string | null } | null;
  readonly agent: { running: boolean; boots: number };
  readonly ipmiCommands: number;
}

export interface LabInfo {
  readonly nodes: number;
  readonly httpUrl: string;
  readonly ironicUrl: string | null;
  readonly images: {
    image: { url: string; md5: string; sha256: string; sizeBytes: number };
    deployKernel: string;
    deployRamdisk: string;
  };
}

export interface LabEvent {
  readonly at: number;
  readonly node: string;
  readonly kind: 'power' | 'boot' | 'ipmi' | 'agent' | 'fault';
  readonly label: string;
  readonly detail?: string;
  readonly ok?: boolean;
}

export interface Faults {
  latencyMs?: number;
  dropRate?: number;
  noAnswer?: boolean;
  resetMs?: number;
  bootDeviceNotPersistent?: boolean;
  agentHeartbeatsStopAfter?: number;
  agentFailCommands?: string[];
  /** From the node's next boot on, an inspection ramdisk never sends its data. */
  agentInspectionNeverCallsBack?: boolean;
}

export class LabClient {
  constructor(readonly baseUrl: string) {}

  async #req<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(this.baseUrl + path, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    if (r.status >= 400)
      throw new BmlabError('ERR_LAB_API', `lab API ${method} ${path}: HTTP ${r.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  info(): Promise<LabInfo> {
    return this.#req('GET', '/v1');
  }
  async nodes(): Promise<LabNodeInfo[]> {
    return (await this.#req<{ nodes: LabNodeInfo[] }>('GET', '/v1/nodes')).nodes;
  }
  node(name: string): Promise<LabNodeInfo> {
    return this.#req('GET', `/v1/nodes/${encodeURIComponent(name)}`);
  }
  console(name: string, from = 0): Promise<{ offset: number; text: string }> {
    return this.#req('GET', `/v1/nodes/${encodeURIComponent(name)}/console?from=${from}`);
  }
  async events(since = 0, node?: string): Promise<LabEvent[]> {
    const q = `since=${since}${node === undefined ? '' : `&node=${encodeURIComponent(node)}`}`;
    return (await this.#req<{ events: LabEvent[] }>('GET', `/v1/events?${q}`)).events;
  }
  setFaults(name: string, f: Faults): Promise<unknown> {
    return this.#req('PUT', `/v1/nodes/${encodeURIComponent(name)}/faults`, f);
  }
  clearFaults(name: string): Promise<unknown> {
    return this.#req('DELETE', `/v1/nodes/${encodeURIComponent(name)}/faults`);
  }
}
