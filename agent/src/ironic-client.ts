/**
 * The agent's client of Ironic's ramdisk endpoints (IPA `ironic_api_client.py`), as measured against
 * Ironic 21.4.4 (reference ironic.md §5):
 *   GET  {api}/                         version discovery: `default_version.version`
 *   GET  {api}/v1/lookup?addresses=m1,m2[&node_uuid=u]   200 {node, config} | 404 outside wait states | 409 locked
 *   POST {api}/v1/heartbeat/{uuid}      {callback_url, agent_token, agent_version} -> 202
 * Every request carries `Content-Type`/`Accept: application/json`, `X-OpenStack-Ironic-API-Version`, and
 * `X-OpenStack-Request-ID` when the kernel line gave `ipa-global-request-id`.
 */
import { BmlabError } from '../../common/src/index.ts';

export type ApiVersion = readonly [number, number];

/** IPA falls back to this when discovery fails (`MIN_IRONIC_VERSION`). */
export const minIronicVersion: ApiVersion = [1, 31];
/** Heartbeat fields by microversion (`AGENT_VERSION_IRONIC_VERSION`, `AGENT_TOKEN_IRONIC_VERSION`). */
const agentVersionSince: ApiVersion = [1, 36];
const agentTokenSince: ApiVersion = [1, 62];

export function parseVersion(v: string): ApiVersion | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function compareVersion(a: ApiVersion, b: ApiVersion): number {
  return a[0] - b[0] || a[1] - b[1];
}

const fmt = (v: ApiVersion) => `${v[0]}.${v[1]}`;

export interface LookupNode {
  readonly uuid: string;
  readonly properties?: Record<string, unknown>;
  readonly instance_info?: Record<string, unknown>;
  readonly driver_internal_info?: Record<string, unknown>;
}

export interface LookupConfig {
  readonly heartbeat_timeout: number;
  readonly agent_token?: string;
  readonly agent_token_required?: boolean;
  readonly [key: string]: unknown;
}

export interface LookupResponse {
  readonly node: LookupNode;
  readonly config: LookupConfig;
}

export type LookupOutcome =
  | { readonly kind: 'found'; readonly content: LookupResponse }
  /** Try again later; `pauseMs` is the extra pause IPA takes after a 409 (node locked). */
  | { readonly kind: 'retry'; readonly reason: string; readonly status?: number; readonly pauseMs?: number };

/** A heartbeat Ironic did not accept; `conflict` for 409 (node locked), which IPA only warns about. */
export class HeartbeatError extends BmlabError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(status === 409 ? 'ERR_HEARTBEAT_CONFLICT' : 'ERR_HEARTBEAT', message, options);
    this.status = status;
  }
}

export interface IronicClientOptions {
  readonly apiUrl: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly globalRequestId?: string;
  /** `ipa-ironic-api-version`: skip discovery. */
  readonly fixedVersion?: string;
  /** The highest microversion the agent asks for; the server's own maximum wins when lower. */
  readonly maxVersion?: string;
  readonly signal?: AbortSignal;
}

export class IronicClient {
  readonly apiUrl: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #requestId: string | undefined;
  readonly #max: ApiVersion;
  readonly #signal: AbortSignal | undefined;
  #version: ApiVersion | undefined;
  #lockPauseMs = 0;
  agentToken: string | undefined;

  constructor(opts: IronicClientOptions) {
    this.apiUrl = opts.apiUrl.replace(/\/+$/, '');
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#requestId = opts.globalRequestId;
    this.#max = parseVersion(opts.maxVersion ?? '1.82') ?? [1, 82];
    this.#signal = opts.signal;
    if (opts.fixedVersion !== undefined) this.#version = parseVersion(opts.fixedVersion);
  }

  #headers(version?: ApiVersion): Record<string, string> {
    const h: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.#requestId !== undefined) h['X-OpenStack-Request-ID'] = this.#requestId;
    if (version !== undefined) h['X-OpenStack-Ironic-API-Version'] = fmt(version);
    return h;
  }

  #request(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
    return this.#fetch(`${this.apiUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(this.#signal === undefined ? {} : { signal: this.#signal }),
    });
  }

  /** The microversion to send: the server's (from `GET /`, once), capped at the agent's maximum. */
  async version(): Promise<ApiVersion> {
    if (this.#version === undefined) {
      try {
        const res = await this.#request('GET', '/', this.#headers());
        const data = (await res.json()) as { default_version?: { version?: string } };
        this.#version = parseVersion(data.default_version?.version ?? '') ?? minIronicVersion;
      } catch {
        // IPA logs and uses the minimum without caching it, so the next call tries again.
        return minIronicVersion;
      }
    }
    return compareVersion(this.#version, this.#max) < 0 ? this.#version : this.#max;
  }

  async lookup(addresses: readonly string[], nodeUuid?: string): Promise<LookupOutcome> {
    const q = new URLSearchParams({ addresses: addresses.join(',') });
    if (nodeUuid !== undefined) q.set('node_uuid', nodeUuid);
    let res: Response;
    try {
      res = await this.#request('GET', `/v1/lookup?${q}`, this.#headers(await this.version()));
    } catch (err) {
      return { kind: 'retry', reason: `connection: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (res.status === 409) {
      // IPA slows down on a node lock: 5 s, then 10 s, then 30 s.
      this.#lockPauseMs = this.#lockPauseMs === 0 ? 5000 : this.#lockPauseMs === 5000 ? 10_000 : 30_000;
      return { kind: 'retry', status: 409, reason: await errorText(res), pauseMs: this.#lockPauseMs };
    }
    if (res.status !== 200) return { kind: 'retry', status: res.status, reason: await errorText(res) };
    let content: Partial<LookupResponse> & { heartbeat_timeout?: number };
    try {
      content = (await res.json()) as typeof content;
    } catch (err) {
      return { kind: 'retry', status: 200, reason: `Error decoding response: ${(err as Error).message}` };
    }
    if (content.node?.uuid === undefined)
      return { kind: 'retry', status: 200, reason: 'Got invalid node data' };
    if (content.config === undefined) {
      // Pre-1.x API: heartbeat_timeout at the top level.
      if (content.heartbeat_timeout === undefined)
        return { kind: 'retry', status: 200, reason: 'Got invalid heartbeat' };
      content = { node: content.node, config: { heartbeat_timeout: content.heartbeat_timeout } };
    }
    return { kind: 'found', content: content as LookupResponse };
  }

  async heartbeat(uuid: string, callbackUrl: string, agentVersion: string): Promise<void> {
    const v = await this.version();
    const body: Record<string, unknown> = { callback_url: callbackUrl };
    if (compareVersion(v, agentTokenSince) >= 0) body['agent_token'] = this.agentToken;
    if (compareVersion(v, agentVersionSince) >= 0) body['agent_version'] = agentVersion;
    let res: Response;
    try {
      res = await this.#request('POST', `/v1/heartbeat/${encodeURIComponent(uuid)}`, this.#headers(v), body);
    } catch (err) {
      throw new HeartbeatError(`Error heartbeating to agent API: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
    if (res.status !== 202) throw new HeartbeatError(await errorText(res), res.status);
    await res.arrayBuffer();
  }
}

/** IPA `_error_from_response`: Ironic's `error_message` is a JSON string holding `faultstring`. */
export async function errorText(res: Response): Promise<string> {
  const text = await res.text();
  let msg = text;
  try {
    let body = JSON.parse(text) as unknown;
    if (body !== null && typeof body === 'object' && 'error_message' in body) {
      body = (body as { error_message: unknown }).error_message;
    }
    if (typeof body === 'string') body = JSON.parse(body) as unknown;
    const b = body as { faultstring?: string; title?: string };
    msg = b.faultstring ?? b.title ?? text;
  } catch {
    // Not JSON: the raw text is the message.
  }
  return `Error ${res.status}: ${msg}`;
}
