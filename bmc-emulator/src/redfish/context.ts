/** What every route plugin gets: the systems by id and the session store. */
import { randomBytes } from 'node:crypto';
import { Errors } from './errors.ts';
import type { RedfishFaults, RedfishSystem, RedfishSystemOptions } from './system.ts';

export interface RedfishSession {
  readonly id: string;
  readonly token: string;
  readonly user: string;
  readonly created: string;
}

/**
 * DSP0266 §13.3 sessions: the token authenticates, the session resource's URI logs out (DELETE), and
 * a session unused for `SessionTimeout` seconds ends (sushy then logs in again).
 */
export class SessionStore {
  readonly #byToken = new Map<string, RedfishSession>();
  readonly #byId = new Map<string, RedfishSession>();
  readonly #lastUsed = new Map<string, number>();
  #next = 1;
  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly newToken: () => string = () => randomBytes(16).toString('hex'),
  ) {}

  create(user: string): RedfishSession {
    const s: RedfishSession = {
      id: String(this.#next++),
      token: this.newToken(),
      user,
      created: new Date().toISOString(),
    };
    this.#byToken.set(s.token, s);
    this.#byId.set(s.id, s);
    this.#lastUsed.set(s.id, this.now());
    return s;
  }
  /** The live session with this token; using it keeps it alive. */
  byToken(token: string): RedfishSession | undefined {
    const s = this.#byToken.get(token);
    if (s === undefined) return undefined;
    const t = this.now();
    if (t - (this.#lastUsed.get(s.id) ?? t) > this.timeoutMs) {
      this.delete(s.id);
      return undefined;
    }
    this.#lastUsed.set(s.id, t);
    return s;
  }
  byId(id: string): RedfishSession | undefined {
    return this.#byId.get(id);
  }
  delete(id: string): boolean {
    const s = this.#byId.get(id);
    if (s === undefined) return false;
    this.#byId.delete(id);
    this.#byToken.delete(s.token);
    this.#lastUsed.delete(id);
    return true;
  }
  all(): readonly RedfishSession[] {
    return [...this.#byId.values()];
  }
}

export interface RedfishContext {
  readonly systems: ReadonlyMap<string, RedfishSystem>;
  readonly sessions: SessionStore;
  readonly credentials: { readonly username: string; readonly password: string };
  /** Seconds an idle session lives, reported in SessionService.SessionTimeout. */
  readonly sessionTimeoutS: number;
  /** Faults of the whole service (every request); each system has its own too. */
  readonly faults: RedfishFaults;
  /** The service root's UUID (stable per lab, as a real BMC's). */
  readonly serviceUuid: string;
  /** Serves one more system (a node enrolled while the lab runs). */
  addSystem(system: RedfishSystem | RedfishSystemOptions): RedfishSystem;
  /** Stops serving a system; its URIs answer 404 from now on. */
  removeSystem(id: string): boolean;
}

/**
 * The system named by a URI segment: its id, or its UUID as sushy-tools' libvirt driver also
 * accepts (Ironic's `redfish_system_id` is often `/redfish/v1/Systems/<uuid>`).
 */
export function systemOf(ctx: RedfishContext, id: string, type = 'ComputerSystem'): RedfishSystem {
  const s = findSystem(ctx, id);
  if (s === undefined) throw Errors.notFound(type, id);
  return s;
}

export function findSystem(ctx: RedfishContext, id: string): RedfishSystem | undefined {
  return ctx.systems.get(id) ?? [...ctx.systems.values()].find((x) => x.uuid === id.toLowerCase());
}
