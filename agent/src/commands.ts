/**
 * Agent commands and their results, after IPA's `extensions/base.py`:
 * - a command is `<extension>.<name>`; an unknown extension is a 404 `RequestedObjectNotFoundError`,
 *   an unknown command a 400 `InvalidCommandError`, a name without a dot a 400 too (`split_command`);
 * - a sync command runs inside the request; an async one returns RUNNING at once and finishes later,
 *   after which the agent heartbeats early (`force_heartbeat`) so Ironic notices;
 * - while the last command is RUNNING, a new one is refused with 409 `AgentIsBusy`;
 * - parameters are Python keyword arguments: a missing or unexpected one is a `TypeError`.
 *
 * Commands are data rows (STYLE.md §3): `{ name, mode, params, run }`.
 */
import { randomUUID } from 'node:crypto';
import { errors, IpaError, type SerializedError } from './errors.ts';

export type CommandStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CLEAN_VERSION_MISMATCH';

/**
 * One element of `GET /v1/commands/` and the body of `POST /v1/commands/` (reference ironic.md §5).
 * IPA 8.0+ leaves `command_params` out (commit "Do not serialize command_params"); Ironic ignores it.
 * bmlab sends it as the reference transcript shows, which also makes scenario reports readable.
 */
export interface CommandResultJson {
  readonly id: string;
  readonly command_name: string;
  readonly command_params: Record<string, unknown>;
  readonly command_status: CommandStatus;
  readonly command_error: SerializedError | null;
  readonly command_result: unknown;
}

export class CommandResult {
  readonly id: string;
  /** The command without its extension, as IPA reports it (`execute_deploy_step`). */
  readonly name: string;
  readonly params: Record<string, unknown>;
  status: CommandStatus = 'RUNNING';
  error: SerializedError | null = null;
  result: unknown = null;
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(name: string, params: Record<string, unknown>, id: string = randomUUID()) {
    this.id = id;
    this.name = name;
    this.params = params;
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
  }

  get isDone(): boolean {
    return this.status !== 'RUNNING';
  }

  succeed(result: unknown): void {
    this.result = result ?? null;
    this.status = 'SUCCEEDED';
    this.#resolve();
  }

  fail(err: unknown): void {
    this.error = serializeCommandError(err);
    this.status =
      err instanceof IpaError && err.type === 'VersionMismatch' ? 'CLEAN_VERSION_MISMATCH' : 'FAILED';
    this.#resolve();
  }

  toJSON(): CommandResultJson {
    return {
      id: this.id,
      command_name: this.name,
      command_params: this.params,
      command_status: this.status,
      command_error: this.error,
      command_result: this.result,
    };
  }
}

/** A JS stand-in for Python's TypeError on a bad keyword argument. */
export class ParamTypeError extends Error {
  override readonly name = 'TypeError';
}

function serializeCommandError(err: unknown): SerializedError {
  if (err instanceof IpaError) return err.serialize();
  // Python exceptions that are not RESTErrors reach Ironic by class name; Ironic's agent client treats
  // `type == 'TypeError'` (an agent that does not know a parameter) as fatal.
  const e = err instanceof Error ? err : new Error(String(err));
  return { type: e.name, code: 500, message: e.message, details: '' };
}

export type CommandMode = 'sync' | 'async';

export interface CommandSpec<C> {
  /** `<extension>.<command>`. */
  readonly name: string;
  readonly mode: CommandMode;
  /** Python signature: required keyword arguments, optional ones, and whether `**kwargs` is accepted. */
  readonly params: {
    readonly required?: readonly string[];
    readonly optional?: readonly string[];
    readonly rest?: true;
  };
  /** Runs before an async command starts; its errors become HTTP errors, as IPA validators' do. */
  readonly validate?: (params: Record<string, unknown>, ctx: C) => void;
  readonly run: (params: Record<string, unknown>, ctx: C, self: CommandResult) => Promise<unknown> | unknown;
}

/** Checks keyword arguments as Python would call `func(self, **params)`. */
export function checkParams(
  fn: string,
  spec: CommandSpec<unknown>['params'],
  params: Record<string, unknown>,
): void {
  const known = new Set([...(spec.required ?? []), ...(spec.optional ?? [])]);
  if (!spec.rest) {
    const unexpected = Object.keys(params).find((k) => !known.has(k));
    if (unexpected !== undefined)
      throw new ParamTypeError(`${fn}() got an unexpected keyword argument '${unexpected}'`);
  }
  const missing = (spec.required ?? []).filter((k) => !(k in params));
  if (missing.length > 0) {
    // CPython's wording: 'a' / 'a' and 'b' / 'a', 'b', and 'c'.
    const names = missing.map((m) => `'${m}'`);
    const list =
      names.length <= 2 ? names.join(' and ') : `${names.slice(0, -1).join(', ')}, and ${names.at(-1)}`;
    const plural = missing.length === 1 ? '' : 's';
    throw new ParamTypeError(
      `${fn}() missing ${missing.length} required positional argument${plural}: ${list}`,
    );
  }
}

export interface ExecuteHooks {
  /** After a command finishes; `async` ones make IPA heartbeat early (`force_heartbeat`). */
  onDone?: (result: CommandResult, mode: CommandMode) => void;
  /** Lets a scenario make a named command fail (agent-side fault). */
  injectFailure?: (name: string, params: Record<string, unknown>) => IpaError | undefined;
}

/** The command table and the ordered results (IPA `ExecuteCommandMixin`). */
export class CommandRunner<C> {
  readonly #specs = new Map<string, Map<string, CommandSpec<C>>>();
  readonly #results = new Map<string, CommandResult>();
  readonly #ctx: C;
  readonly #hooks: ExecuteHooks;
  /** IPA holds `command_lock` while a command is accepted; a sync command keeps it until it is done. */
  #lock: Promise<unknown> = Promise.resolve();

  constructor(specs: readonly CommandSpec<C>[], ctx: C, hooks: ExecuteHooks = {}) {
    for (const s of specs) {
      const [ext, cmd] = splitCommand(s.name);
      const m = this.#specs.get(ext) ?? new Map<string, CommandSpec<C>>();
      m.set(cmd, s);
      this.#specs.set(ext, m);
    }
    this.#ctx = ctx;
    this.#hooks = hooks;
  }

  list(): CommandResult[] {
    return [...this.#results.values()];
  }

  get(id: string): CommandResult {
    const r = this.#results.get(id);
    if (r === undefined) throw errors.notFound('Command Result', id);
    return r;
  }

  /** Accepts a command; throws IpaError for what IPA answers with an HTTP error. */
  execute(fullName: string, params: Record<string, unknown>): Promise<CommandResult> {
    const run = this.#lock.then(() => this.#execute(fullName, params));
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #execute(fullName: string, params: Record<string, unknown>): Promise<CommandResult> {
    const [ext, cmd] = splitCommand(fullName);
    const last = [...this.#results.values()].at(-1);
    if (last !== undefined && !last.isDone) throw errors.busy(last.name);
    const extension = this.#specs.get(ext);
    if (extension === undefined) throw errors.notFound('Extension', ext);
    const spec = extension.get(cmd);
    if (spec === undefined) throw errors.invalidCommand(`Unknown command: ${cmd}`);

    const result = new CommandResult(cmd, params);
    const injected = this.#hooks.injectFailure?.(fullName, params);
    if (spec.mode === 'sync') {
      try {
        checkParams(cmd, spec.params, params);
        if (injected) throw injected;
        result.succeed(await spec.run(params, this.#ctx, result));
      } catch (err) {
        // InvalidContentError and its subclasses go back to the caller as HTTP errors.
        if (err instanceof IpaError && err.status === 400) throw err;
        result.fail(err);
      }
      this.#results.set(result.id, result);
      this.#hooks.onDone?.(result, 'sync');
      return result;
    }

    spec.validate?.(params, this.#ctx);
    this.#results.set(result.id, result);
    void (async () => {
      // Like IPA's command thread, the work starts after the request has been answered with RUNNING.
      await new Promise((r) => setImmediate(r));
      try {
        checkParams(cmd, spec.params, params);
        if (injected) throw injected;
        result.succeed(await spec.run(params, this.#ctx, result));
      } catch (err) {
        // IPA AsyncCommandResult.run: anything that is not a RESTError becomes CommandExecutionError.
        result.fail(
          err instanceof IpaError ? err : errors.execution(err instanceof Error ? err.message : String(err)),
        );
      }
      this.#hooks.onDone?.(result, 'async');
    })();
    return result;
  }
}

export function splitCommand(name: string): [string, string] {
  const dot = name.indexOf('.');
  if (dot < 0) throw errors.invalidCommand('Command name must be of the form <extension>.<name>');
  return [name.slice(0, dot), name.slice(dot + 1)];
}
