/**
 * The command table and its dispatcher (goipmi `simulator.go`: map[netFn]map[cmd]handler).
 * Only here do outcomes become completion codes:
 *   unknown command → C1h, short request → C7h, privilege too low → D4h,
 *   IpmiError(cc) → cc, anything else → FFh and a log line.
 */
import type { Logger } from '../../../../common/src/index.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import type { CommandContext, CommandSpec } from './types.ts';
import { Priv } from './types.ts';

export interface DispatchResult {
  readonly cc: number;
  readonly data: Buffer;
}

/** One answered request, for traces and reports. */
export interface CommandTrace {
  readonly netFn: number;
  readonly cmd: number;
  /** The table row's name, or `unknown`. */
  readonly name: string;
  readonly cc: number;
  readonly inSession: boolean;
}

const EMPTY = Buffer.alloc(0);
const INVALID_COMMAND: DispatchResult = { cc: Cc.InvalidCommand, data: EMPTY };
const INSUFFICIENT_PRIVILEGE: DispatchResult = { cc: Cc.InsufficientPrivilege, data: EMPTY };
const LENGTH_INVALID: DispatchResult = { cc: Cc.RequestLengthInvalid, data: EMPTY };
const UNSPECIFIED: DispatchResult = { cc: Cc.Unspecified, data: EMPTY };

export class CommandRegistry {
  readonly #table = new Map<number, Map<number, CommandSpec>>();
  /** Sees every answered request (the lab's event trace); must not throw. */
  observer: ((t: CommandTrace) => void) | undefined;

  constructor(specs: readonly CommandSpec[] = []) {
    for (const s of specs) this.setHandler(s);
  }

  /** Adds or replaces one row (tests use this to inject behaviour, goipmi `simulator_test.go`). */
  setHandler(spec: CommandSpec): void {
    let byCmd = this.#table.get(spec.netFn);
    if (byCmd === undefined) {
      byCmd = new Map();
      this.#table.set(spec.netFn, byCmd);
    }
    byCmd.set(spec.cmd, spec);
  }

  lookup(netFn: number, cmd: number): CommandSpec | undefined {
    return this.#table.get(netFn & 0x3e)?.get(cmd);
  }

  /**
   * Answers one request. A handler that answers at once (most do: they read or set state) is
   * dispatched synchronously, so the common request costs no promise; one that waits on the machine
   * returns a promise.
   */
  dispatch(
    netFn: number,
    cmd: number,
    data: Buffer,
    ctx: CommandContext,
    log: Logger,
  ): DispatchResult | Promise<DispatchResult> {
    const spec = this.lookup(netFn, cmd);
    const res = this.#dispatch(spec, data, ctx, log);
    if (this.observer === undefined) return res;
    const observe = (r: DispatchResult): DispatchResult => {
      const name = spec?.name ?? 'unknown';
      this.observer?.({ netFn: netFn & 0x3e, cmd, name, cc: r.cc, inSession: ctx.session !== undefined });
      return r;
    };
    return res instanceof Promise ? res.then(observe) : observe(res);
  }

  #dispatch(
    spec: CommandSpec | undefined,
    data: Buffer,
    ctx: CommandContext,
    log: Logger,
  ): DispatchResult | Promise<DispatchResult> {
    if (spec === undefined) return INVALID_COMMAND;
    const privilege = ctx.session?.privilege ?? Priv.None;
    if (privilege < spec.minPriv) {
      // Outside a session nothing but the pre-session commands exists at all.
      return ctx.session === undefined ? INVALID_COMMAND : INSUFFICIENT_PRIVILEGE;
    }
    if (data.length < spec.minLen) return LENGTH_INVALID;
    try {
      const out = spec.handle(data, ctx);
      if (out instanceof Promise) {
        return out.then(
          (d) => ({ cc: Cc.Ok, data: d }),
          (err) => failed(spec, err, log),
        );
      }
      return { cc: Cc.Ok, data: out };
    } catch (err) {
      return failed(spec, err, log);
    }
  }
}

function failed(spec: CommandSpec, err: unknown, log: Logger): DispatchResult {
  if (err instanceof IpmiError) return { cc: err.cc, data: err.data ?? EMPTY };
  log.warn(`${spec.name} failed: ${err instanceof Error ? err.message : String(err)}`);
  return UNSPECIFIED;
}
