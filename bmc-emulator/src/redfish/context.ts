/** What every route plugin gets: the systems by id and the session store. */
import { randomBytes } from 'node:crypto';
import { Errors } from './errors.ts';
import type { RedfishSystem } from './system.ts';

export interface RedfishSession {
  readonly id: string;
  readonly token: string;
  readonly user: string;
  readonly created: string;
}

/** DSP0266 §13.3 sessions: the token authenticates, the session resource's URI logs out (DELETE). */
export class SessionStore {
  readonly #byToken = new Map<string, RedfishSession>();
  readonly #byId = new Map<string, RedfishSession>();
  #next = 1;
  constructor(private readonly newToken: () => string = () => randomBytes(16).toString('hex')) {}

  create(user: string): RedfishSession {
    const s: RedfishSession = {
      id: String(this.#next++),
      token: this.newToken(),
      user,
      created: new Date().toISOString(),
    };
    this.#byToken.set(s.token, s);
    this.#byId.set(s.id, s);
    return s;
  }
  byToken(token: string): RedfishSession | undefined {
    return this.#byToken.get(token);
  }
  byId(id: string): RedfishSession | undefined {
    return this.#byId.get(id);
  }
  delete(id: string): boolean {
    const s = this.#byId.get(id);
    if (s === undefined) return false;
    this.#byId.delete(id);
    this.#byToken.delete(s.token);
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
}

export function systemOf(ctx: RedfishContext, id: string, type = 'ComputerSystem'): RedfishSystem {
  const s = ctx.systems.get(id);
  if (s === undefined) throw Errors.notFound(type, id);
  return s;
}
