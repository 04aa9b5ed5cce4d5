/**
 * A client of OpenStack Ironic's public REST API (v1), the only way scenarios reach the
 * provisioning system — so the same scenario runs against real Ironic and bmlab's mock alike.
 * Every call can be observed (the reports' "api" lane); API errors carry Ironic's faultstring.
 */
import { BmlabError } from '../../common/src/index.ts';

export const IRONIC_API_VERSION = '1.82';

export class IronicApiError extends BmlabError {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly faultstring: string,
  ) {
    super('ERR_IRONIC_API', `${method} ${path}: HTTP ${status}: ${faultstring}`);
  }
}

export interface ApiCall {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly error?: string;
}

export interface IronicNode {
  readonly uuid: string;
  readonly name: string | null;
  readonly provision_state: string;
  readonly target_provision_state: string | null;
  readonly power_state: string | null;
  readonly last_error: string | null;
  readonly properties: Record<string, unknown>;
  readonly driver_info: Record<string, unknown>;
  readonly instance_info: Record<string, unknown>;
  readonly maintenance: boolean;
  readonly [key: string]: unknown;
}

export type PatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** Ironic wraps errors as {"error_message": "<JSON with faultstring>"}; older forms as plain JSON. */
function faultOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error_message?: unknown };
    const em = body.error_message;
    if (typeof em === 'string') {
      try {
        return (JSON.parse(em) as { faultstring?: string }).faultstring ?? em;
      } catch {
        return em;
      }
    }
    if (em !== null && typeof em === 'object')
      return String((em as { faultstring?: unknown }).faultstring ?? text);
  } catch {
    // not JSON
  }
  return text.slice(0, 500);
}

interface PollWaiter {
  resolve(n: IronicNode): void;
  reject(err: unknown): void;
}

export class IronicClient {
  /** Polls waiting for the next read, by node UUID or name (see `#poll`). */
  #queued = new Map<string, PollWaiter[]>();
  #reading = false;

  constructor(
    readonly baseUrl: string,
    private readonly opts: { version?: string; onCall?: (c: ApiCall) => void; timeoutMs?: number } = {},
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const t0 = performance.now();
    const at = Date.now();
    let status = 0;
    try {
      const r = await fetch(this.baseUrl + path, {
        method,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'X-OpenStack-Ironic-API-Version': this.opts.version ?? IRONIC_API_VERSION,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
      status = r.status;
      const text = await r.text();
      if (r.status >= 400) {
        const err = new IronicApiError(r.status, method, path, faultOf(text));
        this.opts.onCall?.({ at, method, path, status, ms: performance.now() - t0, error: err.faultstring });
        throw err;
      }
      this.opts.onCall?.({ at, method, path, status, ms: performance.now() - t0 });
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (err) {
      if (!(err instanceof IronicApiError)) {
        this.opts.onCall?.({ at, method, path, status, ms: performance.now() - t0, error: String(err) });
      }
      throw err;
    }
  }

  createNode(body: Record<string, unknown>): Promise<IronicNode> {
    return this.request('POST', '/v1/nodes', body);
  }
  getNode(id: string): Promise<IronicNode> {
    return this.request('GET', `/v1/nodes/${encodeURIComponent(id)}`);
  }
  async listNodes(): Promise<IronicNode[]> {
    return (await this.request<{ nodes: IronicNode[] }>('GET', '/v1/nodes?detail=True')).nodes;
  }
  patchNode(id: string, ops: readonly PatchOp[]): Promise<IronicNode> {
    return this.request('PATCH', `/v1/nodes/${encodeURIComponent(id)}`, ops);
  }
  deleteNode(id: string): Promise<void> {
    return this.request('DELETE', `/v1/nodes/${encodeURIComponent(id)}`);
  }
  createPort(address: string, nodeUuid: string): Promise<{ uuid: string; address: string }> {
    return this.request('POST', '/v1/ports', { address, node_uuid: nodeUuid });
  }
  async listPorts(nodeUuid: string): Promise<{ uuid: string; address: string }[]> {
    return (
      await this.request<{ ports: { uuid: string; address: string }[] }>('GET', `/v1/ports?node=${nodeUuid}`)
    ).ports;
  }
  setProvisionState(id: string, target: string, extra: Record<string, unknown> = {}): Promise<void> {
    return this.request('PUT', `/v1/nodes/${encodeURIComponent(id)}/states/provision`, { target, ...extra });
  }
  setPowerState(id: string, target: 'power on' | 'power off' | 'rebooting'): Promise<void> {
    return this.request('PUT', `/v1/nodes/${encodeURIComponent(id)}/states/power`, { target });
  }
  setBootDevice(id: string, bootDevice: string, persistent = false): Promise<void> {
    return this.request('PUT', `/v1/nodes/${encodeURIComponent(id)}/management/boot_device`, {
      boot_device: bootDevice,
      persistent,
    });
  }
  getBootDevice(id: string): Promise<{ boot_device: string | null; persistent: boolean | null }> {
    return this.request('GET', `/v1/nodes/${encodeURIComponent(id)}/management/boot_device`);
  }

  /**
   * Polls the node until `done(node)` holds; every provision state seen is reported to `onState`
   * (so a run records the whole sequence, even states that last one poll). Fails on timeout.
   */
  async waitFor(
    id: string,
    done: (n: IronicNode) => boolean,
    o: { timeoutMs: number; pollMs: number; what: string; onState?: (state: string, n: IronicNode) => void },
  ): Promise<IronicNode> {
    const deadline = Date.now() + o.timeoutMs;
    let last: IronicNode | undefined;
    for (;;) {
      last = await this.#poll(id);
      o.onState?.(last.provision_state, last);
      if (done(last)) return last;
      if (Date.now() > deadline) {
        throw new BmlabError(
          'ERR_TIMEOUT',
          `${o.what}: still ${last.provision_state}${last.target_provision_state ? ` → ${last.target_provision_state}` : ''} after ${o.timeoutMs} ms${last.last_error ? ` (last_error: ${last.last_error})` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  }

  /**
   * A poll of one node. Polls of several nodes that fall due together share one
   * `GET /v1/nodes?detail=True`, as a client watching a whole fleet does: a hundred nodes polled one
   * GET each would be a hundred requests every tick, the client's own load on Ironic. A lone poll
   * stays a plain GET of its node; a node the list does not hold is read on its own (its error as is).
   * Polls asked while a read is in flight wait for the next read, so no answer predates the poll.
   */
  #poll(id: string): Promise<IronicNode> {
    const p = new Promise<IronicNode>((resolve, reject) => {
      const q = this.#queued.get(id);
      if (q) q.push({ resolve, reject });
      else this.#queued.set(id, [{ resolve, reject }]);
    });
    if (!this.#reading) {
      this.#reading = true;
      setTimeout(() => void this.#read(), 0);
    }
    return p;
  }

  async #read(): Promise<void> {
    const batch = this.#queued;
    this.#queued = new Map();
    const settle = (id: string, r: Promise<IronicNode>) =>
      r.then(
        (n) => {
          for (const w of batch.get(id) ?? []) w.resolve(n);
        },
        (err: unknown) => {
          for (const w of batch.get(id) ?? []) w.reject(err);
        },
      );
    try {
      if (batch.size === 1) {
        const id = batch.keys().next().value as string;
        await settle(id, this.getNode(id));
      } else {
        let nodes: IronicNode[] = [];
        let failed: unknown;
        try {
          nodes = await this.listNodes();
        } catch (err) {
          failed = err;
        }
        const byId = new Map<string, IronicNode>();
        for (const n of nodes) {
          byId.set(n.uuid, n);
          if (n.name) byId.set(n.name, n);
        }
        await Promise.all(
          [...batch.keys()].map((id) => {
            const n = byId.get(id);
            if (n) return settle(id, Promise.resolve(n));
            return settle(id, failed === undefined ? this.getNode(id) : Promise.reject(failed));
          }),
        );
      }
    } finally {
      if (this.#queued.size > 0) setTimeout(() => void this.#read(), 0);
      else this.#reading = false;
    }
  }
}
