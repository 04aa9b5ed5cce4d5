import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../common/src/index.ts';
import { type App, buildApp } from './api/app.ts';
import { Conductor, type ConductorConfig, defaultConductorConfig } from './conductor/conductor.ts';
import type { Timers } from './conductor/timers.ts';
import { IronicStore } from './store/store.ts';

const log = createLogger('mock-ironic');

export interface MockIronicOptions {
  /** TCP port of the API; 6385 (Ironic's) by default, 0 for any free port. */
  port?: number;
  /** Listen address; loopback by default. */
  host?: string;
  /** Directory for the SQLite DB (`ironic.sqlite`); omitted = in memory. */
  stateDir?: string;
  /** `[deploy]http_root`: where the iPXE boot files go. Defaults to `<stateDir>/httpboot`. */
  httpRoot?: string;
  /** `[deploy]http_url`: where http_root is served (kernel/initrd URLs in the boot scripts). */
  httpUrl?: string;
  /** `ipa-api-url` given to the agent; defaults to this server's URL. */
  apiUrl?: string;
  /** Overrides of the conductor options (intervals in seconds, as in ironic.conf). */
  conductor?: Partial<Omit<ConductorConfig, 'bootFiles' | 'timers' | 'ipmi'>> & {
    ipmi?: Partial<ConductorConfig['ipmi']>;
  };
  timers?: Timers;
}

/**
 * Mock Ironic as one object with a lifecycle: SQLite store, conductor (with its takeover of nodes left
 * by a previous run) and the REST API on a TCP port.
 */
export class MockIronic {
  readonly store: IronicStore;
  readonly conductor: Conductor;
  readonly app: App;
  readonly #opts: MockIronicOptions;
  #url: string | undefined;

  constructor(opts: MockIronicOptions = {}) {
    this.#opts = opts;
    this.store = new IronicStore(opts.stateDir ? join(opts.stateDir, 'ironic.sqlite') : ':memory:');
    const port = opts.port ?? 6385;
    const httpRoot = opts.httpRoot ?? join(opts.stateDir ?? '.', 'httpboot');
    const base = defaultConductorConfig({
      httpRoot,
      httpUrl: opts.httpUrl ?? 'http://127.0.0.1:8088',
      apiUrl: opts.apiUrl ?? `http://127.0.0.1:${port}`,
    });
    const cfg: ConductorConfig = {
      ...base,
      ...opts.conductor,
      ipmi: { ...base.ipmi, ...opts.conductor?.ipmi },
      ...(opts.timers ? { timers: opts.timers } : {}),
    };
    this.conductor = new Conductor(this.store, cfg);
    this.app = buildApp({ store: this.store, conductor: this.conductor });
  }

  /** The API's base URL once started. */
  get url(): string {
    if (!this.#url) throw new Error('mock Ironic is not started');
    return this.#url;
  }

  async start(): Promise<string> {
    if (this.#opts.stateDir) await mkdir(this.#opts.stateDir, { recursive: true });
    await mkdir(this.conductor.config.bootFiles.httpRoot, { recursive: true });
    this.conductor.start();
    const host = this.#opts.host ?? '127.0.0.1';
    await this.app.listen({ port: this.#opts.port ?? 6385, host });
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : (this.#opts.port ?? 6385);
    this.#url = `http://${host}:${port}`;
    // With port 0 the agent URL is only known now.
    if (!this.#opts.apiUrl) this.conductor.config.bootFiles.apiUrl = this.#url;
    log.debug('listening on %s', this.#url);
    return this.#url;
  }

  async stop(): Promise<void> {
    await this.app.close();
    await this.conductor.stop();
    this.store.close();
  }
}

/**
 * `bmlab ironic serve [--port 6385]`: starts mock Ironic and resolves once it listens. The returned
 * object stops it.
 */
export async function serveMockIronic(opts: MockIronicOptions = {}): Promise<MockIronic> {
  const ironic = new MockIronic(opts);
  await ironic.start();
  return ironic;
}
