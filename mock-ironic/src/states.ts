/**
 * Ironic's provision and power states, with the values real Ironic 21.4 stores and shows in its API
 * (ironic/common/states.py). Values are at most 15 characters: that is the width of the DB column
 * (states.py: test_state_values_length).
 */
export const ProvisionState = {
  /** Node is enrolled; power credentials not yet verified (API >= 1.11 creates nodes here). */
  ENROLL: 'enroll',
  /** Power credentials are being verified (`power status` + `mc info`). */
  VERIFYING: 'verifying',
  /** Credentials verified; the node can be inspected, cleaned or made available. */
  MANAGEABLE: 'manageable',
  /** Ready to be deployed (API < 1.11 creates nodes here). */
  AVAILABLE: 'available',
  /** An instance is deployed. */
  ACTIVE: 'active',
  /** Deploy steps are being executed by the conductor. */
  DEPLOYING: 'deploying',
  /** Waiting for the agent's heartbeat (shown as "wait call-back"). */
  DEPLOYWAIT: 'wait call-back',
  /** The deploy failed; the node can be redeployed or undeployed. */
  DEPLOYFAIL: 'deploy failed',
  /** The instance is being torn down. */
  DELETING: 'deleting',
  /** Clean steps are being executed by the conductor. */
  CLEANING: 'cleaning',
  /** Waiting for the agent during cleaning. */
  CLEANWAIT: 'clean wait',
  /** Cleaning failed; operator action (manage) is required. */
  CLEANFAIL: 'clean failed',
  /** Tear down failed. */
  ERROR: 'error',
  /** Hardware inspection in progress. */
  INSPECTING: 'inspecting',
  /** Waiting for an asynchronous inspection to finish. */
  INSPECTWAIT: 'inspect wait',
  /** Inspection failed. */
  INSPECTFAIL: 'inspect failed',
  /** An active node is being adopted. */
  ADOPTING: 'adopting',
  /** Adoption failed. */
  ADOPTFAIL: 'adopt failed',
  /** Node is in rescue mode. */
  RESCUE: 'rescue',
  /** Rescue is being prepared. */
  RESCUING: 'rescuing',
  /** Waiting for the rescue ramdisk. */
  RESCUEWAIT: 'rescue wait',
  /** Rescue failed. */
  RESCUEFAIL: 'rescue failed',
  /** Leaving rescue mode. */
  UNRESCUING: 'unrescuing',
  /** Leaving rescue mode failed. */
  UNRESCUEFAIL: 'unrescue failed',
} as const;
export type ProvisionState = (typeof ProvisionState)[keyof typeof ProvisionState];

/** Targets accepted by `PUT /v1/nodes/{id}/states/provision` that are not events themselves. */
export const PseudoTarget = {
  /** Juno-era synonym of `deploy` (states.py DEPLOY / ACTIVE in the API). */
  ACTIVE: 'active',
  DELETED: 'deleted',
  UNDEPLOY: 'undeploy',
  REBUILD: 'rebuild',
} as const;

/**
 * API target -> state machine event (states.py VERBS). A target missing here is used as the event
 * name itself (`rebuild`).
 */
export const VERBS: Readonly<Record<string, string>> = {
  active: 'deploy',
  deploy: 'deploy',
  deleted: 'delete',
  undeploy: 'delete',
  manage: 'manage',
  provide: 'provide',
  inspect: 'inspect',
  abort: 'abort',
  clean: 'clean',
  adopt: 'adopt',
  rescue: 'rescue',
  unrescue: 'unrescue',
};

/** States that change only on request (states.py STABLE_STATES). */
export const STABLE_STATES: readonly ProvisionState[] = [
  ProvisionState.ENROLL,
  ProvisionState.MANAGEABLE,
  ProvisionState.AVAILABLE,
  ProvisionState.ACTIVE,
  ProvisionState.ERROR,
  ProvisionState.RESCUE,
];

/** States that change without a request (states.py UNSTABLE_STATES). */
export const UNSTABLE_STATES: readonly ProvisionState[] = [
  ProvisionState.DEPLOYING,
  ProvisionState.DEPLOYWAIT,
  ProvisionState.CLEANING,
  ProvisionState.CLEANWAIT,
  ProvisionState.VERIFYING,
  ProvisionState.DELETING,
  ProvisionState.INSPECTING,
  ProvisionState.INSPECTWAIT,
  ProvisionState.ADOPTING,
  ProvisionState.RESCUING,
  ProvisionState.RESCUEWAIT,
  ProvisionState.UNRESCUING,
];

/** A conductor that restarts cannot resume these: it fails them (states.py STUCK_STATES_TREATED_AS_FAIL). */
export const STUCK_STATES_TREATED_AS_FAIL: readonly ProvisionState[] = [
  ProvisionState.DEPLOYING,
  ProvisionState.CLEANING,
  ProvisionState.VERIFYING,
  ProvisionState.INSPECTING,
  ProvisionState.ADOPTING,
  ProvisionState.RESCUING,
  ProvisionState.UNRESCUING,
  ProvisionState.DELETING,
];

/** `GET /v1/lookup` answers only in these states unless fast track is on (states.py LOOKUP_ALLOWED_STATES). */
export const LOOKUP_ALLOWED_STATES: readonly ProvisionState[] = [
  ProvisionState.DEPLOYING,
  ProvisionState.DEPLOYWAIT,
  ProvisionState.CLEANING,
  ProvisionState.CLEANWAIT,
  ProvisionState.INSPECTING,
  ProvisionState.INSPECTWAIT,
  ProvisionState.RESCUING,
  ProvisionState.RESCUEWAIT,
];

/**
 * Heartbeats act in these states (agent_base.py HEARTBEAT_ALLOWED); others are logged and ignored.
 * DEPLOYING/CLEANING/RESCUING only record the heartbeat (_HEARTBEAT_RECORD_ONLY).
 */
export const HEARTBEAT_ALLOWED: readonly ProvisionState[] = [
  ProvisionState.DEPLOYWAIT,
  ProvisionState.CLEANWAIT,
  ProvisionState.RESCUEWAIT,
  ProvisionState.DEPLOYING,
  ProvisionState.CLEANING,
  ProvisionState.RESCUING,
];

/** Nodes may be updated in these transitional states (states.py UPDATE_ALLOWED_STATES), besides stable ones. */
export const UPDATE_ALLOWED_STATES: readonly ProvisionState[] = [
  ProvisionState.DEPLOYFAIL,
  ProvisionState.INSPECTING,
  ProvisionState.INSPECTFAIL,
  ProvisionState.INSPECTWAIT,
  ProvisionState.CLEANFAIL,
  ProvisionState.ERROR,
  ProvisionState.VERIFYING,
  ProvisionState.ADOPTFAIL,
  ProvisionState.RESCUEFAIL,
  ProvisionState.UNRESCUEFAIL,
];

/** Nodes may be deleted only here (states.py DELETE_ALLOWED_STATES); API < 1.11 also allows available. */
export const DELETE_ALLOWED_STATES: readonly ProvisionState[] = [
  ProvisionState.MANAGEABLE,
  ProvisionState.ENROLL,
  ProvisionState.ADOPTFAIL,
];

/** The power-state sync leaves these alone (conductor/manager.py SYNC_EXCLUDED_STATES). */
export const SYNC_EXCLUDED_STATES: readonly ProvisionState[] = [
  ProvisionState.DEPLOYWAIT,
  ProvisionState.CLEANWAIT,
  ProvisionState.ENROLL,
  ProvisionState.ADOPTFAIL,
];

export const PowerState = {
  ON: 'power on',
  OFF: 'power off',
  REBOOT: 'rebooting',
  SOFT_REBOOT: 'soft rebooting',
  SOFT_POWER_OFF: 'soft power off',
} as const;
export type PowerState = (typeof PowerState)[keyof typeof PowerState];
