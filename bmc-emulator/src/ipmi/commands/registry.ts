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

  async dispatch(
    netFn: number,
    cmd: number,
    data: Buffer,
    ctx: CommandContext,
    log: Logger,
  ): Promise<DispatchResult> {
    const res = await this.#dispatch(netFn, cmd, data, ctx, log);
    if (this.observer !== undefined) {
      const name = this.lookup(netFn, cmd)?.name ?? 'unknown';
      this.observer({ netFn: netFn & 0x3e, cmd, name, cc: res.cc, inSession: ctx.session !== undefined });
    }
    return res;
  }

  async #dispatch(
    netFn: number,
    cmd: number,
    data: Buffer,
    ctx: CommandContext,
    log: Logger,
  ): Promise<DispatchResult> {
    const spec = this.lookup(netFn, cmd);
    if (spec === undefined) return { cc: Cc.InvalidCommand, data: EMPTY };
    const privilege = ctx.session?.privilege ?? Priv.None;
    if (privilege < spec.minPriv) {
      // Outside a session nothing but the pre-session commands exists at all.
      return { cc: ctx.session === undefined ? Cc.InvalidCommand : Cc.InsufficientPrivilege, data: EMPTY };
    }
    if (data.length < spec.minLen) return { cc: Cc.RequestLengthInvalid, data: EMPTY };
    try {
      return { cc: Cc.Ok, data: await spec.handle(data, ctx) };
    } catch (err) {
      if (err instanceof IpmiError) return { cc: err.cc, data: EMPTY };
      log.warn(`${spec.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      return { cc: Cc.Unspecified, data: EMPTY };
    }
  }
}
