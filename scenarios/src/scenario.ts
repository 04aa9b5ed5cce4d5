/**
 * The scenario API: a scenario is a TypeScript module exporting a `Scenario`. It reaches the
 * provisioning system only through `ctx.ironic` (Ironic's REST API) and the lab only through
 * `ctx.lab` (the lab API), so it runs unchanged against real Ironic and the mock.
 */
import type { IronicClient, IronicNode } from './ironic-client.ts';
import type { LabClient, LabInfo, LabNodeInfo } from './lab-client.ts';

/** A scenario's option: one of `values`; chosen as `<scenario>:<name>=<value>[,<name>=<value>]`. */
export interface ScenarioOption {
  readonly description: string;
  readonly values: readonly string[];
  readonly default: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Fleet size when the user does not say (`--nodes`). */
  readonly defaultNodes: number;
  /**
   * How the provisioning system must be configured for the scenario's expectations to hold (the
   * runner configures the mock so; a real Ironic must be set up to match).
   */
  readonly needs?: {
    readonly automatedClean?: boolean;
    /** `[conductor]deploy_callback_timeout`, seconds. */
    readonly deployCallbackTimeout?: number;
    /** `[ipmi]command_retry_timeout`, seconds. */
    readonly ipmiRetryTimeout?: number;
    /** ironic-inspector's `[DEFAULT]timeout`, seconds. */
    readonly inspectorTimeout?: number;
  };
  /** The options the scenario takes, by name. */
  readonly options?: Readonly<Record<string, ScenarioOption>>;
  run(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioContext {
  /** The scenario's options: each one chosen, or its default. */
  readonly options: Readonly<Record<string, string>>;
  readonly ironic: IronicClient;
  readonly lab: LabClient;
  readonly labInfo: LabInfo;
  /** The nodes this run uses (the first N of the lab). */
  readonly nodes: readonly LabNodeInfo[];
  readonly timing: { readonly stateTimeoutMs: number; readonly pollMs: number };
  /** Runs `fn` as a named step of `node` (or of the whole run); a throw fails the step and the node. */
  step<T>(node: string | undefined, name: string, fn: () => Promise<T>): Promise<T>;
  /** Records an assertion; a false one fails the node (or the run) but does not stop it. */
  check(node: string | undefined, name: string, ok: boolean, message: string): void;
  /**
   * Waits until Ironic reports `state` (or one of `states`) — for a resting state (enroll,
   * manageable, available, active) also with no transition under way — recording each provision
   * state seen on the node's timeline; fails early when the node lands in `failOn`.
   */
  waitForState(
    node: string,
    uuid: string,
    state: string | readonly string[],
    o?: { failOn?: readonly string[]; timeoutMs?: number },
  ): Promise<IronicNode>;
  /** Runs `fn` for every node at once; one node's failure is recorded and does not stop the others. */
  forEachNode(fn: (node: LabNodeInfo) => Promise<void>): Promise<void>;
  /** Provision states seen on this node so far, in order (consecutive repeats folded). */
  statesSeen(node: string): readonly string[];
  /** A free-form note on a node's timeline. */
  note(node: string, label: string, detail?: string): void;
}
