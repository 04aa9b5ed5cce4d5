/**
 * What a scenario run leaves behind: everything the reports (JUnit XML, HTML timeline, text
 * summary) are made from. Plain JSON, so a run can be saved and rendered again later.
 */

/** Where an event came from; the HTML report gives each kind its own lane. */
export type TimelineKind =
  | 'provision' // an Ironic provision state the node was seen in
  | 'power' // a power transition of the machine
  | 'ipmi' // an IPMI command the node's BMC answered
  | 'agent' // an agent command or lookup/heartbeat
  | 'boot' // POST, boot source, network boot steps, OS reached
  | 'api' // a call the scenario made to the provisioning system's API
  | 'fault' // a fault the scenario injected or cleared
  | 'step'; // a scenario step starting or ending

export interface TimelineEvent {
  /** Milliseconds since the run started. */
  readonly at: number;
  readonly node: string;
  readonly kind: TimelineKind;
  /** Short text, e.g. `deploying`, `power on`, `Chassis Control (0x00/0x02) cc=00`. */
  readonly label: string;
  readonly detail?: string;
  /** false marks an error (a failed command, an error completion code, an API error). */
  readonly ok?: boolean;
}

export interface StepResult {
  readonly name: string;
  /** Absent for steps that are not about one node. */
  readonly node?: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface AssertionResult {
  readonly name: string;
  readonly node?: string;
  readonly ok: boolean;
  readonly message: string;
}

export interface NodeResult {
  readonly node: string;
  readonly ok: boolean;
  /** Provision states in the order they were seen, e.g. enroll, verifying, manageable, … */
  readonly provisionStates: readonly string[];
  readonly finalPowerState?: string;
  readonly bootDevice?: string;
  /** What the machine itself reported it booted last (e.g. the deployed image's name). */
  readonly booted?: string;
  readonly ipmiCommands: number;
  readonly durationMs: number;
  /** The first step that failed on this node. */
  readonly failure?: { readonly step: string; readonly message: string };
}

export interface RunRecord {
  readonly scenario: string;
  readonly description: string;
  /** `mock`, or the URL of the Ironic the run used. */
  readonly ironic: string;
  readonly backend: 'sim' | 'qemu';
  /** ISO 8601 start time. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly nodes: readonly NodeResult[];
  readonly steps: readonly StepResult[];
  readonly assertions: readonly AssertionResult[];
  readonly events: readonly TimelineEvent[];
}
