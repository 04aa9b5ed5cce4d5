/**
 * One boot of the emulated ironic-python-agent (IPA `agent.py` IronicPythonAgent.run):
 *   1. inspection first when the kernel line has `ipa-inspection-callback-url` (lookup would fail on an
 *      unknown MAC otherwise);
 *   2. lookup by every interface's MAC, retried with tenacity's `wait_random_exponential(min=interval, max=60)`
 *      until the node is in a state that answers; the token is taken from `config.agent_token`;
 *   3. serve the command API and heartbeat: the first at once, then every `heartbeat_timeout * U(0.3, 0.6)`
 *      seconds, and early (at most every 5 s) when an async command finishes.
 * It stops when the machine powers off or reboots. A new boot is a new Agent: new lookup, new token,
 * which is what Ironic expects (it hands a token out once per boot).
 */
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../common/src/index.ts';
import { buildApp } from './api.ts';
import { type AgentParams, parseCmdline } from './cmdline.ts';
import { type CommandResult, CommandRunner } from './commands.ts';
import { type AgentContext, type AgentState, agentCommands } from './extensions.ts';
import { type AgentFaults, injectedFailure } from './faults.ts';
import type { AgentHost } from './host.ts';
import { defaultImageOptions, type ImageOptions } from './image.ts';
import { collectInspectionData, collectInventory, postInspection } from './inspect.ts';
import { IronicClient, type LookupResponse } from './ironic-client.ts';

const log = createLogger('agent');

/** The IPA release whose behaviour this agent follows (the one Ironic 21.4 / 2023.1 ships with). */
export const agentVersion = '9.4.1';

export type AgentEvent =
  | { readonly type: 'listening'; readonly url: string }
  | { readonly type: 'inspected'; readonly uuid: string | undefined }
  | {
      readonly type: 'lookup-retry';
      readonly attempt: number;
      readonly reason: string;
      readonly waitMs: number;
    }
  | { readonly type: 'looked-up'; readonly nodeUuid: string; readonly token: boolean }
  | { readonly type: 'heartbeat'; readonly ok: boolean; readonly count: number; readonly error?: string }
  | { readonly type: 'heartbeats-stopped'; readonly after: number }
  | { readonly type: 'command'; readonly name: string; readonly status: string }
  | { readonly type: 'shutdown'; readonly kind: 'poweroff' | 'reboot' }
  | { readonly type: 'stopped' };

export interface AgentOptions {
  /** The kernel command line the machine booted with, or its parsed form. */
  readonly cmdline: string | AgentParams;
  readonly host: AgentHost;
  /** Where the command API listens (default 127.0.0.1, port from `ipa-listen-port`, else 0). */
  readonly listenHost?: string;
  readonly port?: number;
  /** The host put into `callback_url` (default `ipa-advertise-host`, else the listen host). */
  readonly advertiseHost?: string;
  readonly fetch?: typeof globalThis.fetch;
  /**
   * Maps every URL the agent calls (Ironic, inspector, images) before the request, e.g. a provisioning
   * network address on the kernel line to the lab's local endpoint when the agent runs host-side.
   */
  readonly resolveUrl?: (url: string) => string;
  /** Uniform [0, 1): heartbeat jitter and lookup backoff. */
  readonly random?: () => number;
  readonly faults?: AgentFaults;
  /** Fixed heartbeat interval, instead of IPA's `heartbeat_timeout * U(0.3, 0.6)`. */
  readonly heartbeatIntervalMs?: number;
  /** Minimum gap before a forced heartbeat after an async command (IPA: 5 s). */
  readonly forcedHeartbeatGapMs?: number;
  /** Lookup backoff bounds (IPA: `ipa-lookup-interval` s and 60 s). */
  readonly lookupIntervalMs?: number;
  readonly lookupMaxIntervalMs?: number;
  readonly image?: Partial<ImageOptions>;
  /** Highest Ironic API microversion to ask for (default 1.82, what Ironic 21.4 offers). */
  readonly maxApiVersion?: string;
  /** Time the OS takes from `poweroff`/`reboot` to the power actually going (default 0). */
  readonly shutdownDelayMs?: number;
  readonly onEvent?: (event: AgentEvent) => void;
}

const maxLogLines = 2000;

export class Agent {
  readonly params: AgentParams;
  readonly host: AgentHost;
  readonly #opts: AgentOptions;
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #sleepers = new Set<() => void>();
  readonly #log: string[] = [];
  readonly #random: () => number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #state: AgentState = { node: null, partitionUuids: null };
  readonly #commands: CommandRunner<AgentContext>;
  #app: FastifyInstance | undefined;
  #client: IronicClient | undefined;
  #callbackUrl: string | undefined;
  #token: string | undefined;
  #tokenRequired = false;
  #node: LookupResponse['node'] | undefined;
  #heartbeatTimeoutS = 300;
  #startedAt: number | null = null;
  #heartbeats = 0;
  #lastHeartbeat = 0;
  #nextHeartbeat: NodeJS.Timeout | undefined;
  #nextHeartbeatAt = Number.POSITIVE_INFINITY;
  #heartbeatRunning = false;
  #stopping: Promise<void> | undefined;
  #lookedUp!: (uuid: string) => void;
  /** Resolves with the node UUID once lookup succeeded (never, if the agent stops before). */
  readonly lookedUp: Promise<string>;

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.params = typeof opts.cmdline === 'string' ? parseCmdline(opts.cmdline) : opts.cmdline;
    this.host = opts.host;
    this.#random = opts.random ?? Math.random;
    const baseFetch = opts.fetch ?? globalThis.fetch;
    const resolve = opts.resolveUrl;
    this.#fetch =
      resolve === undefined
        ? baseFetch
        : (input, init) => baseFetch(resolve(input instanceof Request ? input.url : String(input)), init);
    this.lookedUp = new Promise((r) => {
      this.#lookedUp = r;
    });
    if (this.params.agentToken !== undefined) this.#token = this.params.agentToken;
    const ctx: AgentContext = {
      host: opts.host,
      fetch: (input, init) => this.#fetch(input, { ...init, signal: this.#abort.signal }),
      faults: opts.faults ?? {},
      image: { ...defaultImageOptions, ...opts.image },
      sleep: (ms) => this.#sleep(ms),
      log: (line) => this.#note(line),
      state: this.#state,
      shutdown: (kind) => this.#shutdown(kind),
      agentLog: () => this.#log,
    };
    this.#commands = new CommandRunner(agentCommands, ctx, {
      onDone: (r, mode) => this.#commandDone(r, mode),
      injectFailure: (name, params) => injectedFailure(opts.faults ?? {}, name, params),
    });
  }

  get callbackUrl(): string | undefined {
    return this.#callbackUrl;
  }
  get nodeUuid(): string | undefined {
    return this.#node?.uuid;
  }
  get token(): string | undefined {
    return this.#token;
  }
  get heartbeatCount(): number {
    return this.#heartbeats;
  }
  get commands(): readonly CommandResult[] {
    return this.#commands.list();
  }
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }
  get logLines(): readonly string[] {
    return this.#log;
  }

  #emit(e: AgentEvent): void {
    this.#opts.onEvent?.(e);
  }

  #note(line: string): void {
    log.debug(line);
    this.#log.push(`${new Date().toISOString()} ${line}`);
    if (this.#log.length > maxLogLines) this.#log.splice(0, this.#log.length - maxLogLines);
  }

  /** A sleep that stop() cuts short, so no loop is left waiting on a cleared timer. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#sleepers.delete(resolve);
        resolve();
      }, ms);
      this.#timers.add(t);
      this.#sleepers.add(resolve);
    });
  }

  /** The Fastify app of the command API (also usable with inject() before start()). */
  get app(): FastifyInstance {
    if (this.#app === undefined) {
      this.#app = buildApp({
        commands: this.#commands as CommandRunner<unknown>,
        validateToken: (t) => this.#validateToken(t),
        status: () => ({ started_at: this.#startedAt, version: agentVersion }),
      });
    }
    return this.#app;
  }

  /** IPA `validate_agent_token`: equal tokens, or none sent while Ironic does not require one. */
  #validateToken(token: string | undefined): boolean {
    if (!token && this.#token && !this.#tokenRequired) return true;
    return this.#token === (token || undefined);
  }

  /** Serves the API, then inspects / looks up / heartbeats in the background. */
  async start(): Promise<void> {
    this.#startedAt = Date.now() / 1000;
    const host = this.#opts.listenHost ?? '127.0.0.1';
    await this.app.listen({ host, port: this.#opts.port ?? this.params.listenPort ?? 0 });
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const advertise = this.#opts.advertiseHost ?? this.params.advertiseHost ?? host;
    const advPort = this.params.advertisePort ?? port;
    this.#callbackUrl = `http://${advertise.includes(':') ? `[${advertise}]` : advertise}:${advPort}`;
    this.#note(`Started API service on port ${port}; callback URL ${this.#callbackUrl}`);
    this.#emit({ type: 'listening', url: this.#callbackUrl });
    void this.#main().catch((err) => {
      if (!this.stopped) {
        log.warn(`agent run failed: ${(err as Error).message}`);
        this.#note(`agent run failed: ${(err as Error).message}`);
      }
    });
  }

  async #main(): Promise<void> {
    let uuid: string | undefined;
    if (this.params.inspectionCallbackUrl !== undefined && this.#opts.faults?.inspectionNeverCallsBack) {
      this.#note('inspection: the data is never sent (fault injected); the ramdisk stays up');
      return;
    }
    if (this.params.inspectionCallbackUrl !== undefined) {
      const data = await collectInspectionData(this.host, this.params, () => this.#log);
      const resp = await postInspection(this.params.inspectionCallbackUrl, data, {
        fetch: (i, init) => this.#fetch(i, { ...init, signal: this.#abort.signal }),
        sleep: (ms) => this.#sleep(ms),
        log: (l) => this.#note(l),
      });
      uuid = resp?.uuid;
      this.#note(`inspection finished, node ${uuid ?? 'unknown'}`);
      this.#emit({ type: 'inspected', uuid });
    }
    if (this.stopped) return;
    if (this.params.apiUrl === undefined) {
      // After inspection only: IPA keeps serving its API without lookup or heartbeats.
      this.#note('No ipa-api-url configured, Heartbeat and lookup skipped for inspector.');
      return;
    }
    this.#client = new IronicClient({
      apiUrl: this.params.apiUrl,
      fetch: this.#fetch,
      signal: this.#abort.signal,
      ...(this.params.globalRequestId === undefined ? {} : { globalRequestId: this.params.globalRequestId }),
      ...(this.params.ironicApiVersion === undefined ? {} : { fixedVersion: this.params.ironicApiVersion }),
      ...(this.#opts.maxApiVersion === undefined ? {} : { maxVersion: this.#opts.maxApiVersion }),
    });
    const content = await this.#lookup(uuid);
    if (content === undefined) return;
    this.#processLookup(content);
    this.#scheduleHeartbeat(0);
  }

  async #lookup(nodeUuid: string | undefined): Promise<LookupResponse | undefined> {
    const client = this.#client!;
    const macs = (await collectInventory(this.host, this.params)).interfaces
      .map((i) => i.mac_address)
      .filter(Boolean);
    const minMs = this.#opts.lookupIntervalMs ?? this.params.lookupIntervalS * 1000;
    const maxMs = this.#opts.lookupMaxIntervalMs ?? 60_000;
    for (let attempt = 1; !this.stopped; attempt++) {
      const out = await client.lookup(macs, nodeUuid);
      if (out.kind === 'found') return out.content;
      if (this.stopped) return undefined;
      // tenacity wait_random_exponential: U(min, clamp(2^(n-1), min, max)) seconds.
      const high = Math.max(minMs, Math.min(1000 * 2 ** (attempt - 1), maxMs));
      const waitMs = (out.pauseMs ?? 0) + minMs + this.#random() * (high - minMs);
      this.#note(
        `lookup with addresses ${macs.join(',')} failed (${out.reason}); retrying in ${Math.round(waitMs)} ms`,
      );
      this.#emit({ type: 'lookup-retry', attempt, reason: out.reason, waitMs });
      await this.#sleep(waitMs);
    }
    return undefined;
  }

  /** IPA `process_lookup_data`: a real token is at least 32 characters; `******` means already handed out. */
  #processLookup(content: LookupResponse): void {
    this.#node = content.node;
    this.#state.node = content.node;
    this.#heartbeatTimeoutS = content.config.heartbeat_timeout;
    if (content.config.agent_token_required) this.#tokenRequired = true;
    const token = content.config.agent_token;
    if (typeof token === 'string' && token.length >= 32) this.#token = token;
    else if (token === '******')
      this.#note('The agent token has already been retrieved; heartbeats will be refused.');
    this.#client!.agentToken = this.#token;
    this.#note(`Lookup succeeded, node UUID is ${content.node.uuid}`);
    this.#emit({ type: 'looked-up', nodeUuid: content.node.uuid, token: this.#token !== undefined });
    this.#lookedUp(content.node.uuid);
  }

  #interval(): number {
    if (this.#opts.heartbeatIntervalMs !== undefined) return this.#opts.heartbeatIntervalMs;
    return this.#heartbeatTimeoutS * 1000 * (0.3 + 0.3 * this.#random());
  }

  #scheduleHeartbeat(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (this.#nextHeartbeat !== undefined) {
      if (at >= this.#nextHeartbeatAt) return;
      clearTimeout(this.#nextHeartbeat);
      this.#timers.delete(this.#nextHeartbeat);
    }
    this.#nextHeartbeatAt = at;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#nextHeartbeat = undefined;
      this.#nextHeartbeatAt = Number.POSITIVE_INFINITY;
      void this.#heartbeat();
    }, delayMs);
    this.#nextHeartbeat = t;
    this.#timers.add(t);
  }

  async #heartbeat(): Promise<void> {
    const stopAfter = this.#opts.faults?.heartbeatsStopAfter;
    if (this.stopped || this.#heartbeatRunning || this.#node === undefined) return;
    if (stopAfter !== undefined && this.#heartbeats >= stopAfter) {
      this.#note(`fault: heartbeats stop after ${stopAfter}`);
      this.#emit({ type: 'heartbeats-stopped', after: stopAfter });
      return;
    }
    this.#heartbeatRunning = true;
    try {
      await this.#client!.heartbeat(this.#node.uuid, this.#callbackUrl!, agentVersion);
      this.#heartbeats++;
      this.#lastHeartbeat = Date.now();
      this.#note('heartbeat successful');
      this.#emit({ type: 'heartbeat', ok: true, count: this.#heartbeats });
    } catch (err) {
      if (this.stopped) return;
      const msg = (err as Error).message;
      this.#note(`error sending heartbeat to ${this.params.apiUrl}: ${msg}`);
      this.#emit({ type: 'heartbeat', ok: false, count: this.#heartbeats, error: msg });
    } finally {
      this.#heartbeatRunning = false;
    }
    this.#scheduleHeartbeat(this.#interval());
  }

  #commandDone(r: CommandResult, mode: 'sync' | 'async'): void {
    this.#note(
      `${mode === 'sync' ? 'Synchronous' : 'Asynchronous'} command ${r.name} completed: ${r.status}`,
    );
    this.#emit({ type: 'command', name: r.name, status: r.status });
    if (mode === 'sync') return;
    // IPA force_heartbeat: heartbeat soon, but not more often than every 5 s.
    const gap = this.#opts.forcedHeartbeatGapMs ?? 5000;
    this.#scheduleHeartbeat(Math.max(0, this.#lastHeartbeat + gap - Date.now()));
  }

  #shutdown(kind: 'poweroff' | 'reboot'): void {
    this.#note(kind === 'poweroff' ? 'Powering off system' : 'Rebooting system');
    // Let the command be recorded as SUCCEEDED first, as `poweroff` returns before the power goes.
    const t = setTimeout(async () => {
      this.#timers.delete(t);
      this.#emit({ type: 'shutdown', kind });
      await this.stop();
      try {
        if (kind === 'poweroff') await this.host.powerOff();
        else await this.host.reboot();
      } catch (err) {
        log.warn(`${kind} failed: ${(err as Error).message}`);
      }
    }, this.#opts.shutdownDelayMs ?? 0);
    this.#timers.add(t);
  }

  /** Stops heartbeats, lookups and the API. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      this.#stopping = (async () => {
        this.#abort.abort();
        for (const t of this.#timers) clearTimeout(t);
        this.#timers.clear();
        for (const wake of this.#sleepers) wake();
        this.#sleepers.clear();
        if (this.#app !== undefined) await this.#app.close();
        this.#note('agent stopped');
        this.#emit({ type: 'stopped' });
      })();
    }
    return this.#stopping;
  }
}
