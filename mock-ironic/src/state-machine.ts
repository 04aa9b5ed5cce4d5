import { type ProvisionState, ProvisionState as S, STABLE_STATES } from './states.ts';

/**
 * Ironic's provisioning state machine as a transition table, edge for edge as
 * ironic/common/states.py (21.4) builds it with `machine.add_transition(from, to, event)`.
 */
export interface Transition {
  readonly from: ProvisionState;
  readonly event: string;
  readonly to: ProvisionState;
}

export const TRANSITIONS = [
  // A deployment may be started from available (conductor do_node_deploy).
  { from: S.AVAILABLE, event: 'deploy', to: S.DEPLOYING },
  // A deployment may fail.
  { from: S.DEPLOYING, event: 'fail', to: S.DEPLOYFAIL },
  // A failed deployment may be retried with rebuild ...
  { from: S.DEPLOYFAIL, event: 'rebuild', to: S.DEPLOYING },
  // ... or with deploy (Juno allows "active" to rebuild a failed deploy).
  { from: S.DEPLOYFAIL, event: 'deploy', to: S.DEPLOYING },
  // A deploy step waits for the agent's heartbeat.
  { from: S.DEPLOYING, event: 'wait', to: S.DEPLOYWAIT },
  // A heartbeat resumes the deploy.
  { from: S.DEPLOYWAIT, event: 'resume', to: S.DEPLOYING },
  // Waiting for the callback may time out (deploy_callback_timeout) or a step may fail.
  { from: S.DEPLOYWAIT, event: 'fail', to: S.DEPLOYFAIL },
  // All deploy steps done.
  { from: S.DEPLOYING, event: 'done', to: S.ACTIVE },
  // An active instance may be re-deployed.
  { from: S.ACTIVE, event: 'rebuild', to: S.DEPLOYING },
  // An active instance may be deleted (do_node_tear_down).
  { from: S.ACTIVE, event: 'delete', to: S.DELETING },
  // A deployment waiting for the agent may be deleted.
  { from: S.DEPLOYWAIT, event: 'delete', to: S.DELETING },
  // A failed deployment may be deleted.
  { from: S.DEPLOYFAIL, event: 'delete', to: S.DELETING },
  // Tear down may fail.
  { from: S.DELETING, event: 'fail', to: S.ERROR },
  // After tear down the node is cleaned.
  { from: S.DELETING, event: 'clean', to: S.CLEANING },
  // Cleaning done: available for scheduling.
  { from: S.CLEANING, event: 'done', to: S.AVAILABLE },
  // Cleaning may fail, in the conductor or while waiting for the agent.
  { from: S.CLEANING, event: 'fail', to: S.CLEANFAIL },
  { from: S.CLEANWAIT, event: 'fail', to: S.CLEANFAIL },
  // Cleaning that waits for the agent may be aborted.
  { from: S.CLEANWAIT, event: 'abort', to: S.CLEANFAIL },
  // A clean step waits for the agent's heartbeat.
  { from: S.CLEANING, event: 'wait', to: S.CLEANWAIT },
  // A heartbeat resumes cleaning.
  { from: S.CLEANWAIT, event: 'resume', to: S.CLEANING },
  // An operator takes a failed clean back to manageable.
  { from: S.CLEANFAIL, event: 'manage', to: S.MANAGEABLE },
  // provide: automated cleaning, then available.
  { from: S.MANAGEABLE, event: 'provide', to: S.CLEANING },
  // Manual cleaning with explicit clean_steps ...
  { from: S.MANAGEABLE, event: 'clean', to: S.CLEANING },
  // ... returns to manageable.
  { from: S.CLEANING, event: 'manage', to: S.MANAGEABLE },
  // An available node may be taken back to manageable.
  { from: S.AVAILABLE, event: 'manage', to: S.MANAGEABLE },
  // A node in error can be rebuilt ...
  { from: S.ERROR, event: 'rebuild', to: S.DEPLOYING },
  // ... or deleted.
  { from: S.ERROR, event: 'delete', to: S.DELETING },
  // Start inspection (inspect_hardware).
  { from: S.MANAGEABLE, event: 'inspect', to: S.INSPECTING },
  // Synchronous inspection done.
  { from: S.INSPECTING, event: 'done', to: S.MANAGEABLE },
  // Inspection may fail.
  { from: S.INSPECTING, event: 'fail', to: S.INSPECTFAIL },
  // Asynchronous inspection waits.
  { from: S.INSPECTING, event: 'wait', to: S.INSPECTWAIT },
  // Asynchronous inspection done.
  { from: S.INSPECTWAIT, event: 'done', to: S.MANAGEABLE },
  // Asynchronous inspection failed (or timed out).
  { from: S.INSPECTWAIT, event: 'fail', to: S.INSPECTFAIL },
  // Asynchronous inspection aborted.
  { from: S.INSPECTWAIT, event: 'abort', to: S.INSPECTFAIL },
  // A failed inspection goes back to manageable ...
  { from: S.INSPECTFAIL, event: 'manage', to: S.MANAGEABLE },
  // ... or is retried.
  { from: S.INSPECTFAIL, event: 'inspect', to: S.INSPECTING },
  // Rescue an active node.
  { from: S.ACTIVE, event: 'rescue', to: S.RESCUING },
  // Rescue done.
  { from: S.RESCUING, event: 'done', to: S.RESCUE },
  // Rescue waits for the rescue ramdisk.
  { from: S.RESCUING, event: 'wait', to: S.RESCUEWAIT },
  { from: S.RESCUEWAIT, event: 'resume', to: S.RESCUING },
  // A rescued node may be rescued again.
  { from: S.RESCUE, event: 'rescue', to: S.RESCUING },
  // A rescued node may be deleted.
  { from: S.RESCUE, event: 'delete', to: S.DELETING },
  // Rescue may fail.
  { from: S.RESCUEWAIT, event: 'fail', to: S.RESCUEFAIL },
  { from: S.RESCUING, event: 'fail', to: S.RESCUEFAIL },
  // Rescue waiting for the ramdisk may be aborted.
  { from: S.RESCUEWAIT, event: 'abort', to: S.RESCUEFAIL },
  // A failed rescue may be retried, unrescued or deleted.
  { from: S.RESCUEFAIL, event: 'rescue', to: S.RESCUING },
  { from: S.RESCUEFAIL, event: 'unrescue', to: S.UNRESCUING },
  { from: S.RESCUEFAIL, event: 'delete', to: S.DELETING },
  // A rescue waiting for the ramdisk may be deleted.
  { from: S.RESCUEWAIT, event: 'delete', to: S.DELETING },
  // Leave rescue.
  { from: S.RESCUE, event: 'unrescue', to: S.UNRESCUING },
  { from: S.UNRESCUING, event: 'done', to: S.ACTIVE },
  { from: S.UNRESCUING, event: 'fail', to: S.UNRESCUEFAIL },
  // A failed unrescue may be rescued, unrescued again or deleted.
  { from: S.UNRESCUEFAIL, event: 'rescue', to: S.RESCUING },
  { from: S.UNRESCUEFAIL, event: 'unrescue', to: S.UNRESCUING },
  { from: S.UNRESCUEFAIL, event: 'delete', to: S.DELETING },
  // manage from enroll verifies the power credentials.
  { from: S.ENROLL, event: 'manage', to: S.VERIFYING },
  // Verification succeeded.
  { from: S.VERIFYING, event: 'done', to: S.MANAGEABLE },
  // Verification failed: back to enroll with last_error set.
  { from: S.VERIFYING, event: 'fail', to: S.ENROLL },
  // Adopt an already-deployed node.
  { from: S.MANAGEABLE, event: 'adopt', to: S.ADOPTING },
  { from: S.ADOPTING, event: 'done', to: S.ACTIVE },
  { from: S.ADOPTING, event: 'fail', to: S.ADOPTFAIL },
  { from: S.ADOPTFAIL, event: 'adopt', to: S.ADOPTING },
  { from: S.ADOPTFAIL, event: 'manage', to: S.MANAGEABLE },
] as const satisfies readonly Transition[];

/**
 * The stable state each transitional state works towards: `target_provision_state` while the node is
 * there (states.py `add_state(..., target=...)`). Stable states have no target.
 */
export const STATE_TARGETS: Readonly<Partial<Record<ProvisionState, ProvisionState>>> = {
  [S.VERIFYING]: S.MANAGEABLE,
  [S.DEPLOYING]: S.ACTIVE,
  [S.DEPLOYWAIT]: S.ACTIVE,
  [S.DEPLOYFAIL]: S.ACTIVE,
  [S.CLEANING]: S.AVAILABLE,
  [S.CLEANWAIT]: S.AVAILABLE,
  [S.CLEANFAIL]: S.AVAILABLE,
  [S.DELETING]: S.AVAILABLE,
  [S.INSPECTING]: S.MANAGEABLE,
  [S.INSPECTFAIL]: S.MANAGEABLE,
  [S.INSPECTWAIT]: S.MANAGEABLE,
  [S.ADOPTING]: S.ACTIVE,
  [S.ADOPTFAIL]: S.ACTIVE,
  [S.RESCUING]: S.RESCUE,
  [S.RESCUEWAIT]: S.RESCUE,
  [S.RESCUEFAIL]: S.RESCUE,
  [S.UNRESCUING]: S.ACTIVE,
  [S.UNRESCUEFAIL]: S.ACTIVE,
};

const byState = new Map<string, Map<string, ProvisionState>>();
for (const t of TRANSITIONS) {
  let events = byState.get(t.from);
  if (!events) {
    events = new Map();
    byState.set(t.from, events);
  }
  events.set(t.event, t.to);
}

/** The state `event` leads to from `from`, or undefined when the event is not actionable there. */
export function nextState(from: string, event: string): ProvisionState | undefined {
  return byState.get(from)?.get(event);
}

export function isActionable(from: string, event: string): boolean {
  return nextState(from, event) !== undefined;
}

export function isStable(state: string): boolean {
  return (STABLE_STATES as readonly string[]).includes(state);
}

/** The events `state` accepts, in table order. */
export function eventsFrom(state: string): string[] {
  return [...(byState.get(state)?.keys() ?? [])];
}

/**
 * Target state after an event, as ironic's FSM computes it (fsm.py `_post_process_event`): an explicit
 * target wins (manual cleaning targets manageable), otherwise the new state's own target; a stable
 * state has none.
 */
export function targetAfter(to: ProvisionState, explicit?: ProvisionState | null): ProvisionState | null {
  if (isStable(to)) return null;
  return explicit ?? STATE_TARGETS[to] ?? null;
}
