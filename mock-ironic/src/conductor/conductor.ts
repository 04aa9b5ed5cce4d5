import { randomBytes, randomUUID } from 'node:crypto';
import { createLogger } from '../../../common/src/index.ts';
import { ApiError } from '../api/errors.ts';
import { nextState, targetAfter } from '../state-machine.ts';
import {
  HEARTBEAT_ALLOWED,
  PowerState,
  ProvisionState as S,
  STUCK_STATES_TREATED_AS_FAIL,
  SYNC_EXCLUDED_STATES,
} from '../states.ts';
import { isoTime, type Json, type JsonObject, type NodeRecord } from '../store/records.ts';
import type { IronicStore } from '../store/store.ts';
import { AgentClient, type AgentCommand, commandError } from './agent-client.ts';
import {
  type BootFilesConfig,
  removeBootFiles,
  removeNodeConfig,
  writeRamdiskBootFiles,
} from './boot-files.ts';
import { type IpmiDriverInfo, type IpmiStats, IpmiTool, parseIpmiDriverInfo } from './ipmitool.ts';
import { parseRedfishDriverInfo, RedfishClient, type RedfishDriverInfo } from './redfish.ts';
import { realTimers, type Timers } from './timers.ts';

const log = createLogger('mock-ironic:conductor');

/** The `[conductor]`, `[ipmi]`, `[agent]` options the mock honours; names follow ironic.conf. */
export interface ConductorConfig {
  /** `[DEFAULT]host`: shown in `reservation` and in NodeLocked errors. */
  host: string;
  ipmi: {
    minCommandInterval: number;
    commandRetryTimeout: number;
    binary?: string;
    /** IpmiToolConfig.oemList. */
    oemList?: 'short' | 'system';
  };
  /** `[conductor]sync_power_state_interval` (s); 0 disables the periodic sync. */
  syncPowerStateInterval: number;
  /** `[conductor]power_state_sync_max_retries`. */
  powerStateSyncMaxRetries: number;
  /** `[conductor]force_power_state_during_sync`. */
  forcePowerStateDuringSync: boolean;
  /** `[conductor]check_provision_state_interval` (s). */
  checkProvisionStateInterval: number;
  /** `[conductor]deploy_callback_timeout` (s). */
  deployCallbackTimeout: number;
  /** `[conductor]clean_callback_timeout` (s). */
  cleanCallbackTimeout: number;
  /** `[conductor]inspect_wait_timeout` (s). */
  inspectWaitTimeout: number;
  /** ironic-inspector's URL (`[inspector]endpoint_override`); the mock serves /v1/continue itself by default. */
  inspectorUrl?: string;
  /** ironic-inspector's `[DEFAULT]timeout` (s): how long the built-in inspector waits for the ramdisk's data. */
  inspectorTimeout: number;
  /** `[conductor]power_state_change_timeout` (s). */
  powerStateChangeTimeout: number;
  /** `[conductor]automated_clean`. */
  automatedClean: boolean;
  /** `[agent]post_deploy_get_power_state_retries` and `_retry_interval` (s). */
  postDeployGetPowerStateRetries: number;
  postDeployGetPowerStateRetryInterval: number;
  /** `[agent]command_timeout` (s). */
  agentCommandTimeout: number;
  bootFiles: BootFilesConfig;
  timers?: Timers;
}

export const defaultConductorConfig = (bootFiles: BootFilesConfig): ConductorConfig => ({
  host: 'mock-ironic',
  ipmi: { minCommandInterval: 5, commandRetryTimeout: 60 },
  syncPowerStateInterval: 60,
  powerStateSyncMaxRetries: 3,
  forcePowerStateDuringSync: true,
  checkProvisionStateInterval: 60,
  deployCallbackTimeout: 1800,
  cleanCallbackTimeout: 1800,
  inspectWaitTimeout: 1800,
  inspectorTimeout: 3600,
  powerStateChangeTimeout: 30,
  automatedClean: true,
  postDeployGetPowerStateRetries: 6,
  postDeployGetPowerStateRetryInterval: 5,
  agentCommandTimeout: 60,
  bootFiles,
});

interface Step extends JsonObject {
  interface: string;
  step: string;
  priority: number;
  args: JsonObject;
}

/** The out-of-band deploy steps of the `direct` deploy interface (agent.py / agent_base.py, 21.4). */
const OOB_DEPLOY_STEPS: Step[] = [
  { interface: 'deploy', step: 'deploy', priority: 100, args: {} },
  { interface: 'deploy', step: 'write_image', priority: 80, args: {} },
  { interface: 'deploy', step: 'prepare_instance_boot', priority: 60, args: {} },
  { interface: 'deploy', step: 'tear_down_agent', priority: 40, args: {} },
  { interface: 'deploy', step: 'switch_to_tenant_network', priority: 30, args: {} },
  { interface: 'deploy', step: 'boot_instance', priority: 20, args: {} },
];

/** What the conductor did, for benchmarks (`bmlab ironic serve --stats-file`). */
export interface ConductorStats {
  ipmi: IpmiStats;
  heartbeats: {
    /** Accepted by the API (valid token and version). */
    received: number;
    /** Taken up by the conductor (the node was in a state that acts on heartbeats and not locked). */
    processed: number;
    /** Skipped because an action held the node's lock; the next heartbeat retries (agent_base.heartbeat). */
    skippedLocked: number;
  };
  /** Commands sent to agents. */
  agentCommands: number;
}

/** A step outcome: finished, or waiting for the agent's next heartbeat. */
type StepResult = 'done' | 'wait';

class StepFailure extends Error {}

const stepId = (s: JsonObject) => `${String(s['interface'])}.${String(s['step'])}`;
const isEquivalent = (a: JsonObject | undefined, b: JsonObject) =>
  a !== undefined && a['interface'] === b['interface'] && a['step'] === b['step'];

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The conductor: runs each node's provisioning actions as Ironic's conductor does (conductor/manager.py,
 * deployments.py, cleaning.py, agent_base.py), reaching machines only through ipmitool and the agent's
 * HTTP API. One action per node at a time: while it runs the node carries a `reservation`, and other
 * requests get NodeLocked (409), as with Ironic's task manager.
 */
export class Conductor {
  readonly ipmi: IpmiTool;
  readonly redfish = new RedfishClient();
  readonly #store: IronicStore;
  readonly #cfg: ConductorConfig;
  readonly #timers: Timers;
  readonly #agent: AgentClient;
  readonly #tasks = new Map<string, Promise<void>>();
  readonly #syncFailures = new Map<string, number>();
  #stopPeriodics: (() => void)[] = [];
  #stopped = false;
  readonly #heartbeats = { received: 0, processed: 0, skippedLocked: 0 };
  #agentCommands = 0;

  constructor(store: IronicStore, cfg: ConductorConfig) {
    this.#store = store;
    this.#cfg = cfg;
    this.#timers = cfg.timers ?? realTimers;
    // Getters, so a change of the [ipmi] options applies to the next command.
    const ipmi = cfg.ipmi;
    this.ipmi = new IpmiTool({
      get minCommandInterval() {
        return ipmi.minCommandInterval;
      },
      get commandRetryTimeout() {
        return ipmi.commandRetryTimeout;
      },
      timers: this.#timers,
      ...(ipmi.binary ? { binary: ipmi.binary } : {}),
      ...(ipmi.oemList ? { oemList: ipmi.oemList } : {}),
    });
    this.#agent = new AgentClient({ commandTimeoutMs: cfg.agentCommandTimeout * 1000 });
  }

  get config(): Readonly<ConductorConfig> {
    return this.#cfg;
  }

  stats(): ConductorStats {
    return {
      ipmi: structuredClone(this.ipmi.stats),
      heartbeats: { ...this.#heartbeats },
      agentCommands: this.#agentCommands,
    };
  }

  /**
   * Conductor start (base_manager.py `init_host`): reservations held by the previous process are
   * dropped, and nodes in states that cannot be resumed (STUCK_STATES_TREATED_AS_FAIL: deploying,
   * cleaning, verifying, deleting, ...) get the `fail` event with Ironic's message. Nodes waiting for
   * the agent (wait call-back, clean wait) keep waiting: the next heartbeat resumes them, or the
   * callback-timeout periodic fails them.
   */
  start(): void {
    for (const node of this.#store.listNodes()) {
      if (node.reservation !== null) {
        node.reservation = null;
        this.#store.saveNode(node);
      }
      if ((STUCK_STATES_TREATED_AS_FAIL as readonly string[]).includes(node.provision_state)) {
        const state = node.provision_state;
        this.#update(node.uuid, (n) => {
          this.#applyEvent(n, 'fail');
          n.last_error = `The ${state} state can't be resumed by conductor ${this.#cfg.host}. Moving to fail state.`;
          if (state === S.DEPLOYING) n.deploy_step = {};
          if (state === S.CLEANING) n.clean_step = {};
        });
        log.warn(
          'node %s was %s at start-up: moved to %s',
          node.uuid,
          state,
          this.#store.getNode(node.uuid)?.provision_state,
        );
      }
    }
    const t = this.#timers;
    if (this.#cfg.syncPowerStateInterval > 0) {
      this.#stopPeriodics.push(
        t.every(this.#cfg.syncPowerStateInterval * 1000, () => void this.syncPowerStates()),
      );
    }
    if (this.#cfg.checkProvisionStateInterval > 0) {
      this.#stopPeriodics.push(
        t.every(this.#cfg.checkProvisionStateInterval * 1000, () => void this.checkCallbackTimeouts()),
      );
    }
  }

  /** Stops periodic tasks and waits for running actions (bounded), then removes temporary files. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopped = true;
    for (const stop of this.#stopPeriodics) stop();
    this.#stopPeriodics = [];
    const pending = [...this.#tasks.values()];
    if (pending.length > 0) {
      await Promise.race([Promise.allSettled(pending), this.#timers.sleep(graceMs)]);
    }
    await this.ipmi.dispose();
  }

  /** Resolves when no action is running (tests and benchmarks use it). */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks.values()]);
  }

  // ---------------------------------------------------------------------------------------------
  // Node bookkeeping

  /** A port inspection found (Ironic creates one per MAC it does not know yet, PXE-enabled). */
  #addPort(nodeUuid: string, mac: string): void {
    if (this.#store.getPortByAddress(mac)) return;
    this.#store.insertPort({
      uuid: randomUUID(),
      address: mac,
      node_uuid: nodeUuid,
      extra: {},
      local_link_connection: {},
      pxe_enabled: true,
      physical_network: null,
      is_smartnic: false,
      name: null,
      portgroup_uuid: null,
      internal_info: {},
      created_at: this.#nowIso(),
      updated_at: null,
    });
  }

  #nowIso(): string {
    return isoTime(this.#timers.now());
  }

  #update(uuid: string, fn: (n: NodeRecord) => void): NodeRecord {
    const node = this.#store.getNode(uuid);
    if (!node) throw ApiError.nodeNotFound(uuid);
    fn(node);
    node.updated_at = this.#nowIso();
    this.#store.saveNode(node);
    return node;
  }

  /** TaskManager.process_event: the FSM step plus provision_updated_at and the target state. */
  #applyEvent(n: NodeRecord, event: string, explicitTarget?: S | null): void {
    const to = nextState(n.provision_state, event);
    if (!to) throw ApiError.invalidState(event, n.uuid, n.provision_state);
    // A manual-clean target (manageable) survives the wait/resume events of the same operation.
    const keep =
      explicitTarget === undefined &&
      n.target_provision_state === S.MANAGEABLE &&
      [S.CLEANING, S.CLEANWAIT, S.CLEANFAIL].includes(to as never)
        ? S.MANAGEABLE
        : explicitTarget;
    n.provision_state = to;
    n.target_provision_state = targetAfter(to, keep);
    n.provision_updated_at = this.#nowIso();
  }

  #event(uuid: string, event: string, explicitTarget?: S | null): NodeRecord {
    return this.#update(uuid, (n) => this.#applyEvent(n, event, explicitTarget));
  }

  /**
   * Starts an action holding the node's lock (task_manager.acquire, exclusive). The reservation is
   * stored with the node, so the API shows it and refuses competing actions with NodeLocked.
   */
  #spawn(uuid: string, purpose: string, fn: () => Promise<void>): void {
    this.#reserve(uuid);
    const run = (async () => {
      try {
        await fn();
      } catch (err) {
        log.warn('%s on node %s failed: %s', purpose, uuid, errMessage(err));
      } finally {
        if (this.#store.getNode(uuid))
          this.#update(uuid, (n) => {
            n.reservation = null;
          });
        this.#tasks.delete(uuid);
      }
    })();
    this.#tasks.set(uuid, run);
  }

  #reserve(uuid: string): void {
    const node = this.#store.getNode(uuid);
    if (!node) throw ApiError.nodeNotFound(uuid);
    if (node.reservation !== null || this.#tasks.has(uuid)) {
      throw ApiError.nodeLocked(uuid, node.reservation ?? this.#cfg.host);
    }
    this.#update(uuid, (n) => {
      n.reservation = this.#cfg.host;
    });
  }

  isLocked(uuid: string): boolean {
    return this.#tasks.has(uuid);
  }

  #isRedfish(node: NodeRecord): boolean {
    return node.interfaces.power_interface === 'redfish';
  }

  #redfishInfo(node: NodeRecord): RedfishDriverInfo {
    return parseRedfishDriverInfo(node.uuid, node.driver_info);
  }

  /** The power interface's validate(): driver_info must name a reachable-looking BMC. */
  #validatePower(node: NodeRecord): void {
    if (this.#isFake(node)) return;
    if (this.#isRedfish(node)) this.#redfishInfo(node);
    else this.#ipmiInfo(node);
  }

  /** One power request to the BMC: ipmitool `power on|off|soft`, or Redfish ComputerSystem.Reset. */
  async #power(node: NodeRecord, action: 'on' | 'off' | 'soft'): Promise<void> {
    if (this.#isRedfish(node)) {
      const type = action === 'on' ? 'On' : action === 'off' ? 'ForceOff' : 'GracefulShutdown';
      await this.redfish.reset(this.#redfishInfo(node), type);
      return;
    }
    await this.ipmi.exec(this.#ipmiInfo(node), `power ${action}`);
  }

  #ipmiInfo(node: NodeRecord): IpmiDriverInfo {
    return parseIpmiDriverInfo(node.uuid, node.driver_info);
  }

  #isFake(node: NodeRecord): boolean {
    return node.interfaces.power_interface === 'fake';
  }

  #macs(uuid: string): string[] {
    return this.#store.listPorts(uuid).map((p) => p.address);
  }

  // ---------------------------------------------------------------------------------------------
  // Power (conductor/utils.py node_power_action)

  async #getPowerState(node: NodeRecord): Promise<string> {
    if (this.#isFake(node)) return node.power_state ?? PowerState.OFF;
    if (this.#isRedfish(node)) return this.redfish.powerState(this.#redfishInfo(node));
    return this.ipmi.powerStatus(this.#ipmiInfo(node));
  }

  /**
   * utils.node_cache_vendor, after verify and after a power sync: while `properties.vendor` is unset,
   * ask the BMC (ipmitool `mc info` "Manufacturer Name", lowercased; Redfish System.Manufacturer as
   * given). A failure is only logged, as in Ironic; it never fails the caller.
   */
  async #cacheVendor(uuid: string): Promise<void> {
    const node = this.#store.getNode(uuid);
    if (!node || node.properties['vendor'] || this.#isFake(node)) return;
    let vendor: string | undefined;
    try {
      if (this.#isRedfish(node)) {
        const m = (await this.redfish.system(this.#redfishInfo(node)))['Manufacturer'];
        vendor = typeof m === 'string' ? m : undefined;
      } else {
        vendor = /Manufacturer Name *: (.+)/
          .exec(await this.ipmi.mcInfo(this.#ipmiInfo(node)))?.[1]
          ?.toLowerCase();
      }
    } catch (err) {
      log.warn('Unexpected exception when trying to detect vendor for node %s: %s', uuid, errMessage(err));
      return;
    }
    if (!vendor || !this.#store.getNode(uuid)) return;
    this.#update(uuid, (n) => {
      n.properties = { ...n.properties, vendor };
    });
  }

  /** node_wait_for_power_state: poll `power status` until the state is reached or the timeout passes. */
  async #waitForPowerState(node: NodeRecord, state: string, timeoutS?: number): Promise<void> {
    const deadline = this.#timers.now() + (timeoutS ?? this.#cfg.powerStateChangeTimeout) * 1000;
    for (;;) {
      if ((await this.#getPowerState(node)) === state) return;
      if (this.#timers.now() > deadline) throw new Error(`Failed to set node power state to ${state}.`);
      await this.#timers.sleep(Math.min(1000, this.#cfg.ipmi.minCommandInterval * 1000));
    }
  }

  /** What node_power_action forgets when the machine goes down (wipe_internal_info_on_power_off). */
  #wipeOnPowerOff(n: NodeRecord): void {
    const dii = n.driver_internal_info;
    for (const k of [
      'agent_url',
      'agent_secret_token',
      'agent_cached_deploy_steps',
      'agent_cached_clean_steps',
      'agent_verify_ca',
    ]) {
      delete dii[k];
    }
  }

  /**
   * node_power_action: read the current state first and skip the change when it is already there
   * (`_can_skip_state_change`), else set target_power_state, run the driver action and wait for it.
   * Reboot is `power off` (only when on) then `power on` (IPMIPower.reboot): no cycle, no reset.
   */
  async powerAction(uuid: string, newState: string, timeoutS?: number): Promise<void> {
    let node = this.#store.getNode(uuid)!;
    const downward = [
      PowerState.OFF,
      PowerState.SOFT_POWER_OFF,
      PowerState.REBOOT,
      PowerState.SOFT_REBOOT,
    ].includes(newState as never);
    if (newState === PowerState.ON || newState === PowerState.OFF) {
      const current = await this.#getPowerState(node);
      if (current === newState) {
        node = this.#update(uuid, (n) => {
          n.power_state = current;
          n.target_power_state = null;
          if (downward) this.#wipeOnPowerOff(n);
        });
        return;
      }
    }
    const target = [PowerState.ON, PowerState.REBOOT, PowerState.SOFT_REBOOT].includes(newState as never)
      ? PowerState.ON
      : PowerState.OFF;
    node = this.#update(uuid, (n) => {
      n.target_power_state = target;
      if (
        ![
          'deploy failed',
          'clean failed',
          'inspect failed',
          'rescue failed',
          'unrescue failed',
          'adopt failed',
        ].includes(n.provision_state)
      ) {
        n.last_error = null;
      }
      n.driver_internal_info['last_power_state_change'] = this.#nowIso();
      if (downward) this.#wipeOnPowerOff(n);
    });
    try {
      if (this.#isFake(node)) {
        // fake power interface: the state changes instantly, no BMC.
      } else {
        switch (newState) {
          case PowerState.ON:
            await this.#power(node, 'on');
            await this.#waitForPowerState(node, PowerState.ON, timeoutS);
            break;
          case PowerState.OFF:
            await this.#power(node, 'off');
            await this.#waitForPowerState(node, PowerState.OFF, timeoutS);
            break;
          case PowerState.SOFT_POWER_OFF:
            await this.#power(node, 'soft');
            await this.#waitForPowerState(node, PowerState.OFF, timeoutS ?? 600);
            break;
          case PowerState.REBOOT:
          case PowerState.SOFT_REBOOT: {
            // ipmitool and redfish alike: off (only when on), then on.
            if ((await this.#getPowerState(node)) !== PowerState.OFF) {
              await this.#power(node, newState === PowerState.REBOOT ? 'off' : 'soft');
              await this.#waitForPowerState(node, PowerState.OFF, timeoutS);
            }
            await this.#power(node, 'on');
            await this.#waitForPowerState(node, PowerState.ON, timeoutS);
            break;
          }
          default:
            throw ApiError.badRequest(`Invalid power state ${newState}.`);
        }
      }
    } catch (err) {
      this.#update(uuid, (n) => {
        n.target_power_state = null;
        n.last_error = `Failed to change power state to '${target}' by '${newState}': ${errMessage(err)}`;
      });
      throw err;
    }
    this.#update(uuid, (n) => {
      n.power_state = target;
      n.target_power_state = null;
    });
  }

  /** `PUT /v1/nodes/{id}/states/power` (manager.change_node_power_state). */
  changePowerState(node: NodeRecord, target: string, timeoutS?: number): void {
    this.#validatePower(node);
    this.#spawn(node.uuid, 'power', () => this.powerAction(node.uuid, target, timeoutS));
  }

  async setBootDevice(node: NodeRecord, device: string, persistent: boolean): Promise<void> {
    if (this.#isFake(node)) return;
    if (node.interfaces.management_interface === 'redfish') {
      await this.redfish.setBootDevice(this.#redfishInfo(node), device, persistent);
      return;
    }
    await this.ipmi.setBootDevice(this.#ipmiInfo(node), device, persistent);
  }

  async getBootDevice(node: NodeRecord): Promise<{ boot_device: string | null; persistent: boolean | null }> {
    if (this.#isFake(node)) return { boot_device: null, persistent: null };
    if (node.interfaces.management_interface === 'redfish')
      return this.redfish.getBootDevice(this.#redfishInfo(node));
    return this.ipmi.getBootDevice(this.#ipmiInfo(node));
  }

  // ---------------------------------------------------------------------------------------------
  // Provisioning actions: `PUT /v1/nodes/{id}/states/provision` after the API checked the FSM.

  /** Synchronous validation (the RPC part) happens here; the work runs in the background. */
  provision(node: NodeRecord, target: string, opts: { cleanSteps?: JsonObject[] }): void {
    const uuid = node.uuid;
    switch (target) {
      case 'manage':
        if (node.provision_state === S.ENROLL) {
          this.#spawn(uuid, 'verify', () => this.#verify(uuid));
        } else {
          this.#reserve(uuid);
          try {
            this.#event(uuid, 'manage');
          } finally {
            this.#update(uuid, (n) => {
              n.reservation = null;
            });
          }
        }
        return;
      case 'provide':
        this.#spawn(uuid, 'provide', async () => {
          this.#event(uuid, 'provide');
          await this.#startCleaning(uuid, false, []);
        });
        return;
      case 'inspect':
        this.#validateInspect(node);
        this.#spawn(uuid, 'inspect', async () => {
          this.#update(uuid, (n) => {
            this.#applyEvent(n, 'inspect');
            n.inspection_started_at = this.#nowIso();
            n.inspection_finished_at = null;
            n.last_error = null;
            delete n.driver_internal_info['inspection_data_received'];
          });
          if (node.interfaces.inspect_interface === 'inspector') {
            await this.#startInbandInspection(uuid);
            return;
          }
          if (node.interfaces.inspect_interface === 'redfish') {
            await this.#inspectRedfish(uuid);
            return;
          }
          // The fake inspect interface finishes at once and changes no properties (reference §4).
          this.#update(uuid, (n) => {
            this.#applyEvent(n, 'done');
            n.inspection_finished_at = this.#nowIso();
          });
        });
        return;
      case 'active':
      case 'deploy':
      case 'rebuild':
        this.#validateDeploy(node);
        this.#spawn(uuid, 'deploy', () => this.#deploy(uuid, target === 'rebuild' ? 'rebuild' : 'deploy'));
        return;
      case 'deleted':
      case 'undeploy':
        if (node.protected) {
          throw new ApiError(
            403,
            `Node ${uuid} is protected and cannot be undeployed, rebuilt or deleted`,
            'NodeProtected',
          );
        }
        this.#spawn(uuid, 'tear down', () => this.#tearDown(uuid));
        return;
      case 'clean':
        this.#spawn(uuid, 'clean', async () => {
          this.#event(uuid, 'clean', S.MANAGEABLE);
          await this.#startCleaning(uuid, true, opts.cleanSteps ?? []);
        });
        return;
      case 'abort':
        this.#abort(node);
        return;
      case 'adopt':
        this.#validatePower(node);
        this.#spawn(uuid, 'adopt', async () => {
          this.#event(uuid, 'adopt');
          this.#event(uuid, 'done');
        });
        return;
      case 'rescue':
      case 'unrescue':
        // The default rescue interface is no-rescue (reference ironic.conf).
        throw ApiError.badRequest(
          `Driver ${node.driver} does not support rescue (disabled or not implemented).`,
          'UnsupportedDriverExtension',
        );
      default:
        throw ApiError.badRequest(
          `The requested action "${target}" could not be understood.`,
          'InvalidStateRequested',
        );
    }
  }

  #validateInspect(node: NodeRecord): void {
    if (node.interfaces.inspect_interface === 'inspector') {
      try {
        this.#validatePower(node);
        const missing = ['deploy_kernel', 'deploy_ramdisk'].filter((k) => !node.driver_info[k]);
        if (missing.length > 0) throw new Error(`Missing are: ${missing.join(', ')}`);
      } catch (err) {
        throw ApiError.badRequest(
          `Failed to validate inspection or power info. Error: ${errMessage(err)}`,
          'HardwareInspectionFailure',
        );
      }
      return;
    }
    if (node.interfaces.inspect_interface === 'redfish') {
      this.#validatePower(node);
      return;
    }
    if (node.interfaces.inspect_interface !== 'fake') {
      throw ApiError.badRequest(
        `Driver ${node.driver} does not support inspect (disabled or not implemented).`,
        'UnsupportedDriverExtension',
      );
    }
  }

  /** deployments.py `validate_node`: power, boot and deploy interface validation. */
  #validateDeploy(node: NodeRecord): void {
    try {
      for (const [iface, problem] of Object.entries(this.validate(node))) {
        if (['power', 'deploy', 'boot'].includes(iface) && problem.result === false)
          throw new Error(problem.reason ?? '');
      }
    } catch (err) {
      throw ApiError.badRequest(
        `Failed to validate deploy or power info for node ${node.uuid}: ${errMessage(err)}`,
      );
    }
  }

  /** `GET /v1/nodes/{id}/validate`: the result per interface, with Ironic's messages. */
  validate(node: NodeRecord): Record<string, { result: boolean | null; reason: string | null }> {
    const ok = { result: true, reason: null };
    const no = (reason: string) => ({ result: false, reason });
    const fake = this.#isFake(node);
    let power: { result: boolean | null; reason: string | null } = ok;
    try {
      this.#validatePower(node);
    } catch (err) {
      power = no(errMessage(err));
    }
    let boot: { result: boolean | null; reason: string | null } = ok;
    if (!fake) {
      const missing = ['deploy_kernel', 'deploy_ramdisk'].filter((k) => !node.driver_info[k]);
      if (missing.length > 0) {
        boot = no(
          `Some parameters were missing in node's driver_info. Missing are: ['${missing.map((m) => `driver_info.${m}`).join("', '")}']`,
        );
      }
    }
    let deploy: { result: boolean | null; reason: string | null } = ok;
    const ii = node.instance_info;
    if (!fake) {
      if (!ii['image_source']) {
        deploy = no(
          `Node ${node.uuid} failed to validate deploy image info. Some parameters were missing. Missing are: ['instance_info.image_source']`,
        );
      } else if (!String(ii['image_source']).startsWith('file://')) {
        const hashValue = ii['image_os_hash_value'];
        const hashAlgo = ii['image_os_hash_algo'];
        if (Boolean(hashValue) !== Boolean(hashAlgo) || (!hashValue && !ii['image_checksum'])) {
          deploy = no(
            `image_source's "image_checksum", or "image_os_hash_algo" and "image_os_hash_value" must be provided in instance_info for node ${node.uuid}`,
          );
        }
      }
      if (deploy.result && boot.result === false) deploy = boot;
    }
    const noSupport = (iface: string) => ({
      result: false,
      reason: `Driver ${node.driver} does not support ${iface} (disabled or not implemented).`,
    });
    return {
      bios: fake ? ok : noSupport('bios'),
      boot,
      console: fake ? ok : noSupport('console'),
      deploy,
      inspect: ['fake', 'redfish', 'inspector'].includes(node.interfaces.inspect_interface)
        ? power
        : noSupport('inspect'),
      management: power,
      network: ok,
      power,
      raid: fake ? ok : noSupport('raid'),
      rescue: fake ? ok : noSupport('rescue'),
      storage: ok,
    };
  }

  // --- verify (manage from enroll) -------------------------------------------------------------

  /** conductor/verify.py: read the power state and run the verify steps (`mc info`, detect_vendor). */
  async #verify(uuid: string): Promise<void> {
    this.#event(uuid, 'manage');
    const node = this.#store.getNode(uuid)!;
    let power: string;
    try {
      power = await this.#getPowerState(node);
    } catch (err) {
      this.#update(uuid, (n) => {
        this.#applyEvent(n, 'fail');
        n.last_error = `Failed to get power state for node ${uuid}. Error: ${errMessage(err)}`;
      });
      return;
    }
    await this.#cacheVendor(uuid);
    this.#update(uuid, (n) => {
      n.power_state = power;
      n.last_error = null;
      this.#applyEvent(n, 'done');
    });
  }

  // --- deploy ----------------------------------------------------------------------------------

  /** do_node_deploy + deployments.do_node_deploy: prepare, compute steps, run them. */
  async #deploy(uuid: string, event: 'deploy' | 'rebuild'): Promise<void> {
    this.#update(uuid, (n) => {
      this.#applyEvent(n, event);
      n.last_error = null;
      n.deploy_step = {};
      this.#wipeDeployInfo(n);
      // [agent]image_download_source=http: the agent downloads image_source itself.
      n.instance_info['image_url'] = n.instance_info['image_source'] ?? null;
      if (!n.instance_info['kernel']) n.driver_internal_info['is_whole_disk_image'] = true;
      n.driver_internal_info['deploy_steps'] = OOB_DEPLOY_STEPS as unknown as Json;
      n.driver_internal_info['deploy_step_index'] = null;
    });
    try {
      await this.#prepareRamdisk(uuid, true);
    } catch (err) {
      this.#failDeploy(uuid, `Failed to prepare to deploy: ${errMessage(err)}`);
      return;
    }
    await this.#continueDeploy(uuid);
  }

  #wipeDeployInfo(n: NodeRecord): void {
    const dii = n.driver_internal_info;
    for (const k of ['agent_secret_token', 'agent_secret_token_pregenerated', 'agent_url', 'agent_verify_ca'])
      delete dii[k];
    dii['deploy_steps'] = null;
    for (const k of [
      'user_deploy_steps',
      'agent_cached_deploy_steps',
      'deploy_step_index',
      'deployment_reboot',
      'deployment_polling',
      'steps_validated',
    ]) {
      delete dii[k];
    }
  }

  #wipeCleaningInfo(n: NodeRecord): void {
    const dii = n.driver_internal_info;
    for (const k of ['agent_secret_token', 'agent_secret_token_pregenerated', 'agent_url', 'agent_verify_ca'])
      delete dii[k];
    dii['clean_steps'] = null;
    for (const k of [
      'agent_cached_clean_steps',
      'clean_step_index',
      'cleaning_reboot',
      'cleaning_polling',
      'steps_validated',
    ]) {
      delete dii[k];
    }
  }

  /**
   * CustomAgentDeploy.prepare / prepare_cleaning: power off, write the iPXE boot files and set the
   * next boot to PXE (pxe_base.prepare_ramdisk: `node_set_boot_device(PXE, persistent=False)`).
   */
  async #prepareRamdisk(uuid: string, forDeploy = false): Promise<void> {
    await this.powerAction(uuid, PowerState.OFF);
    const node = this.#store.getNode(uuid)!;
    if (this.#isFake(node)) return;
    // AgentDeploy._update_instance_info -> build_instance_info_for_deploy: an http(s) image_source
    // must answer a HEAD with 200 (image_service.HttpImageService.validate_href).
    if (forDeploy) await this.#validateImageHref(String(node.instance_info['image_source'] ?? ''));
    await writeRamdiskBootFiles(
      this.#cfg.bootFiles,
      {
        uuid,
        deployKernel: String(node.driver_info['deploy_kernel']),
        deployRamdisk: String(node.driver_info['deploy_ramdisk']),
      },
      this.#macs(uuid),
      `req-${randomUUID()}`,
    );
    await this.setBootDevice(node, 'pxe', false);
  }

  async #validateImageHref(href: string): Promise<void> {
    if (!/^https?:\/\//.test(href)) return;
    let status: number;
    try {
      const res = await fetch(href, {
        method: 'HEAD',
        redirect: 'manual',
        signal: AbortSignal.timeout(60_000),
      });
      status = res.status;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      throw new Error(`Validation of image href ${href} failed, reason: ${errMessage(cause ?? err)}`);
    }
    if (status !== 200) {
      throw new Error(
        `Validation of image href ${href} failed, reason: Got HTTP code ${status} instead of 200 in response to HEAD request.`,
      );
    }
  }

  #failDeploy(uuid: string, msg: string): void {
    const node = this.#store.getNode(uuid);
    if (!node || ![S.DEPLOYING, S.DEPLOYWAIT].includes(node.provision_state as never)) return;
    this.#update(uuid, (n) => {
      n.last_error = msg;
      n.deploy_step = {};
      this.#wipeDeployInfo(n);
      this.#applyEvent(n, 'fail');
    });
    log.warn('deploy of %s failed: %s', uuid, msg);
    // deploying_error_handler(clean_up=True): the boot interface's ramdisk files go.
    const cleanup = this.#isFake(node)
      ? Promise.resolve()
      : removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid));
    cleanup.catch((err) => log.warn('clean up after failed deploy of %s: %s', uuid, errMessage(err)));
  }

  /** deployments.do_next_deploy_step: run steps from the one after the current index. */
  async #continueDeploy(uuid: string): Promise<void> {
    for (;;) {
      const node = this.#store.getNode(uuid);
      if (!node || node.provision_state !== S.DEPLOYING) return;
      const steps = (node.driver_internal_info['deploy_steps'] as Step[] | null) ?? [];
      const idx = ((node.driver_internal_info['deploy_step_index'] as number | null) ?? -1) + 1;
      const step = steps[idx];
      if (!step) {
        this.#update(uuid, (n) => {
          n.deploy_step = {};
          this.#wipeDeployInfo(n);
          this.#applyEvent(n, 'done');
        });
        log.debug('node %s deployed', uuid);
        return;
      }
      this.#update(uuid, (n) => {
        n.deploy_step = step;
        n.driver_internal_info['deploy_step_index'] = idx;
      });
      let result: StepResult;
      try {
        result = await this.#runDeployStep(uuid, step);
      } catch (err) {
        this.#failDeploy(uuid, `Deploy step ${stepId(step)} failed: ${errMessage(err)}.`);
        return;
      }
      if (result === 'wait') {
        if (this.#store.getNode(uuid)?.provision_state === S.DEPLOYING) this.#event(uuid, 'wait');
        return;
      }
    }
  }

  async #runDeployStep(uuid: string, step: Step): Promise<StepResult> {
    const node = this.#store.getNode(uuid)!;
    if (this.#isFake(node)) {
      // fake deploy interface: every step succeeds at once.
      return 'done';
    }
    if (step.interface !== 'deploy' || !OOB_DEPLOY_STEPS.some((s) => s.step === step.step)) {
      // An in-band step offered by the agent (agent_base.execute_step).
      await this.#agentCommand(
        uuid,
        'deploy.execute_deploy_step',
        this.#stepParams(node, step, 'deploy'),
        false,
      );
      return 'wait';
    }
    switch (step.step) {
      case 'deploy':
        // Boot the ramdisk: reboot = off (if on) + on; the agent then looks up and heartbeats.
        await this.powerAction(uuid, PowerState.REBOOT);
        return 'wait';
      case 'write_image': {
        const ii = node.instance_info;
        const source = String(ii['image_source'] ?? '');
        const imageInfo: JsonObject = {
          id: source.split('/').pop() ?? source,
          urls: [ii['image_url'] ?? source],
          disk_format: ii['image_disk_format'] ?? null,
          container_format: ii['image_container_format'] ?? null,
          stream_raw_images: true,
        };
        if (ii['image_checksum']) imageInfo['checksum'] = ii['image_checksum'];
        if (ii['image_os_hash_algo'] && ii['image_os_hash_value']) {
          imageInfo['os_hash_algo'] = ii['image_os_hash_algo'];
          imageInfo['os_hash_value'] = ii['image_os_hash_value'];
        }
        imageInfo['node_uuid'] = uuid;
        const inband: Step = {
          interface: 'deploy',
          step: 'write_image',
          priority: 80,
          args: { image_info: imageInfo, configdrive: ii['configdrive'] ?? null },
        };
        await this.#agentCommand(
          uuid,
          'deploy.execute_deploy_step',
          this.#stepParams(node, inband, 'deploy'),
          false,
        );
        return 'wait';
      }
      case 'prepare_instance_boot': {
        const res = await this.#agentCommand(uuid, 'standby.get_partition_uuids', {}, true);
        const result = (res.command_result as JsonObject | null) ?? {};
        const root = result['root uuid'];
        if (typeof root === 'string')
          this.#update(uuid, (n) => {
            n.driver_internal_info['root_uuid_or_disk_id'] = root;
          });
        // prepare_instance_to_boot -> configure_local_boot, then the boot interface's
        // prepare_instance: both set the disk persistently (reference: "sent twice").
        await this.setBootDevice(node, 'disk', true);
        await removeNodeConfig(this.#cfg.bootFiles, uuid, this.#macs(uuid));
        await this.setBootDevice(node, 'disk', true);
        return 'done';
      }
      case 'tear_down_agent':
        await this.#tearDownAgent(uuid);
        return 'done';
      case 'switch_to_tenant_network':
        // noop network interface.
        return 'done';
      case 'boot_instance':
        await this.powerAction(uuid, PowerState.ON);
        return 'done';
      default:
        throw new StepFailure(`unknown deploy step ${step.step}`);
    }
  }

  /**
   * AgentDeployMixin.tear_down_agent: ask the agent to power the machine off (standby.power_off), poll
   * `power status` post_deploy_get_power_state_retries times, then force an IPMI power off.
   */
  async #tearDownAgent(uuid: string): Promise<void> {
    const node = this.#store.getNode(uuid)!;
    const oob = ['true', '1', 'yes'].includes(
      String(node.driver_info['deploy_forces_oob_reboot'] ?? 'false').toLowerCase(),
    );
    if (oob) {
      await this.#agentCommand(uuid, 'standby.sync', {}, true).catch(() => undefined);
      await this.powerAction(uuid, PowerState.OFF);
      return;
    }
    try {
      await this.#agentCommand(uuid, 'standby.power_off', {}, false);
    } catch (err) {
      log.warn('Failed to soft power off node %s. %s', uuid, errMessage(err));
    }
    const attempts = this.#cfg.postDeployGetPowerStateRetries + 1;
    for (let i = 0; i < attempts; i++) {
      try {
        if ((await this.#getPowerState(node)) === PowerState.OFF) {
          this.#update(uuid, (n) => {
            n.power_state = PowerState.OFF;
            this.#wipeOnPowerOff(n);
          });
          return;
        }
      } catch {
        // retried like any other state
      }
      if (i < attempts - 1) await this.#timers.sleep(this.#cfg.postDeployGetPowerStateRetryInterval * 1000);
    }
    log.warn('node %s did not power off by itself; forcing hard power off', uuid);
    await this.powerAction(uuid, PowerState.OFF);
  }

  #stepParams(node: NodeRecord, step: Step, kind: 'deploy' | 'clean'): JsonObject {
    return {
      step,
      node: this.#agentNodeView(node),
      ports: this.#store.listPorts(node.uuid).map((p) => ({ ...p })) as unknown as Json,
      [`${kind}_version`]: node.driver_internal_info['hardware_manager_version'] ?? null,
    };
  }

  /** node.as_dict(secure=True): the node the agent sees, passwords masked. */
  #agentNodeView(node: NodeRecord): JsonObject {
    const di = { ...node.driver_info };
    for (const k of Object.keys(di)) if (k.endsWith('password')) di[k] = '******';
    const dii = { ...node.driver_internal_info };
    if (dii['agent_secret_token']) dii['agent_secret_token'] = '******';
    return {
      uuid: node.uuid,
      name: node.name,
      driver: node.driver,
      driver_info: di,
      driver_internal_info: dii,
      instance_info: node.instance_info,
      properties: node.properties,
      provision_state: node.provision_state,
      target_provision_state: node.target_provision_state,
    };
  }

  async #agentCommand(uuid: string, name: string, params: JsonObject, wait: boolean): Promise<AgentCommand> {
    const node = this.#store.getNode(uuid)!;
    const url = node.driver_internal_info['agent_url'];
    if (typeof url !== 'string') throw new Error(`Agent URL is not known for node ${uuid}`);
    const token = node.driver_internal_info['agent_secret_token'];
    this.#agentCommands++;
    const res = await this.#agent.command(
      url,
      typeof token === 'string' ? token : undefined,
      name,
      params,
      wait,
    );
    if (wait && res.command_status === 'FAILED') {
      throw new Error(`Agent returned error for ${name} command: ${commandError(res)}`);
    }
    return res;
  }

  // --- ramdisk endpoints -----------------------------------------------------------------------

  /**
   * manager.get_node_with_token: the first lookup of a boot gets a fresh token; later lookups get
   * "******" (the token is never handed out twice). A node under an exclusive lock refuses (409).
   */
  nodeWithToken(uuid: string): NodeRecord {
    const node = this.#store.getNode(uuid)!;
    if (typeof node.driver_internal_info['agent_secret_token'] === 'string') {
      return {
        ...node,
        driver_internal_info: { ...node.driver_internal_info, agent_secret_token: '******' },
      };
    }
    if (node.reservation !== null && this.#tasks.has(uuid)) throw ApiError.nodeLocked(uuid, node.reservation);
    // secrets.token_urlsafe(): 32 random bytes, URL-safe base64.
    const token = randomBytes(32).toString('base64url');
    return this.#update(uuid, (n) => {
      n.driver_internal_info['agent_secret_token'] = token;
    });
  }

  /** manager.heartbeat: checks, then the asynchronous agent_base.heartbeat. */
  heartbeat(
    uuid: string,
    body: { callback_url: string; agent_token?: string; agent_version?: string; agent_status?: string },
  ): void {
    if (body.agent_version === undefined && body.agent_status === undefined) {
      throw ApiError.badRequest(
        'Agent did not transmit a version, and a version is required. Please update the agent being used.',
      );
    }
    const node = this.#store.getNode(uuid)!;
    const known = node.driver_internal_info['agent_secret_token'];
    if (body.agent_token === undefined || typeof known !== 'string' || known !== body.agent_token) {
      throw ApiError.badRequest('Invalid or missing agent token received.');
    }
    this.#heartbeats.received++;
    if (!(HEARTBEAT_ALLOWED as readonly string[]).includes(node.provision_state)) {
      log.warn(
        'Heartbeat from node %s in unsupported provision state %s, not taking any action.',
        uuid,
        node.provision_state,
      );
      return;
    }
    if (this.#tasks.has(uuid)) {
      // task.upgrade_lock(retry=False) failed: skip, the next heartbeat retries.
      log.debug('Node %s is currently locked, skipping heartbeat processing', uuid);
      this.#heartbeats.skippedLocked++;
      return;
    }
    this.#heartbeats.processed++;
    this.#spawn(uuid, 'heartbeat', () => this.#processHeartbeat(uuid, body));
  }

  async #processHeartbeat(
    uuid: string,
    body: { callback_url: string; agent_version?: string },
  ): Promise<void> {
    const node = this.#update(uuid, (n) => {
      n.driver_internal_info['agent_url'] = body.callback_url;
      n.driver_internal_info['agent_version'] = body.agent_version ?? null;
      n.driver_internal_info['agent_last_heartbeat'] = this.#nowIso();
    });
    if (node.maintenance) {
      if ([S.DEPLOYING, S.DEPLOYWAIT].includes(node.provision_state as never)) {
        this.#failDeploy(uuid, 'Deploy aborted as node is in maintenance mode');
      } else if ([S.CLEANING, S.CLEANWAIT].includes(node.provision_state as never)) {
        await this.#failCleaning(uuid, 'Cleaning aborted as node is in maintenance mode', false);
      }
      return;
    }
    if (node.provision_state === S.DEPLOYWAIT) await this.#heartbeatDeployWait(uuid);
    else if (node.provision_state === S.CLEANWAIT) await this.#heartbeatCleanWait(uuid);
  }

  /** Merges the agent's in-band steps (priority > 0, not shadowed by an out-of-band one) after `idx`. */
  #mergeInbandSteps(n: NodeRecord, kind: 'deploy' | 'clean', agentSteps: JsonObject): void {
    if (kind !== 'deploy') return;
    const all = Object.values(agentSteps).flat() as Step[];
    const steps = ((n.driver_internal_info['deploy_steps'] as Step[] | null) ?? []).slice();
    const idx = (n.driver_internal_info['deploy_step_index'] as number | null) ?? -1;
    const extra = all.filter((s) => s.priority > 0 && !steps.some((o) => isEquivalent(o, s)));
    if (extra.length === 0) return;
    const rest = [...steps.slice(idx + 1), ...extra.map((s) => ({ ...s, args: s.args ?? {} }))].sort(
      (a, b) => b.priority - a.priority,
    );
    n.driver_internal_info['deploy_steps'] = [...steps.slice(0, idx + 1), ...rest] as unknown as Json;
  }

  /** HeartbeatMixin._heartbeat_deploy_wait + process_next_step('deploy'). */
  async #heartbeatDeployWait(uuid: string): Promise<void> {
    let msg = 'Unexpected exception';
    try {
      const node = this.#store.getNode(uuid)!;
      if (!node.driver_internal_info['agent_cached_deploy_steps']) {
        msg = 'Failed to load in-band deploy steps';
        const res = await this.#agentCommand(
          uuid,
          'deploy.get_deploy_steps',
          { node: this.#agentNodeView(node), ports: this.#store.listPorts(uuid) as unknown as Json },
          true,
        );
        const result = (res.command_result as JsonObject | null) ?? {};
        const steps = result['deploy_steps'] as JsonObject | undefined;
        if (!steps || !result['hardware_manager_version']) {
          throw new Error('agent returned no deploy steps or no hardware_manager_version');
        }
        this.#update(uuid, (n) => {
          n.driver_internal_info['agent_cached_deploy_steps'] = steps;
          n.driver_internal_info['hardware_manager_version'] = result['hardware_manager_version'] ?? null;
          this.#mergeInbandSteps(n, 'deploy', steps);
        });
      }
      this.#update(uuid, (n) => {
        n.provision_updated_at = this.#nowIso();
      });
      msg = 'Failed to process the next deploy step';
      await this.#processNextStep(uuid, 'deploy');
    } catch (err) {
      this.#failDeploy(uuid, `${msg}: ${errMessage(err)}`);
    }
  }

  /** AgentBaseMixin.process_next_step: decide from the agent's command list whether to go on. */
  async #processNextStep(uuid: string, kind: 'deploy' | 'clean'): Promise<void> {
    const node = this.#store.getNode(uuid)!;
    const commands = await this.#agent.commandsStatus(String(node.driver_internal_info['agent_url']));
    const fresh =
      commands.length === 0 || (commands.length === 1 && commands[0]?.command_name === `get_${kind}_steps`);
    if (fresh) {
      await this.#resume(uuid, kind);
      return;
    }
    const current = kind === 'deploy' ? node.deploy_step : node.clean_step;
    const last = commands[commands.length - 1]!;
    if (last.command_name !== `execute_${kind}_step` || last.command_status === 'RUNNING') return;
    const lastStep = (last.command_result as JsonObject | null)?.[`${kind}_step`] as JsonObject | undefined;
    if (last.command_status === 'SUCCEEDED' && !isEquivalent(lastStep, current)) return;
    if (last.command_status === 'FAILED') {
      const msg = `${kind === 'deploy' ? 'Deploy' : 'Clean'} step ${stepId(current)} failed on node ${uuid}. ${commandError(last)}`;
      if (kind === 'deploy') this.#failDeploy(uuid, msg);
      else await this.#failCleaning(uuid, msg);
      return;
    }
    if (last.command_status === 'SUCCEEDED') {
      await this.#resume(uuid, kind);
      return;
    }
    const msg = `Agent returned unknown status for ${kind} step ${JSON.stringify(current)} on node ${uuid} : ${last.command_status}.`;
    if (kind === 'deploy') this.#failDeploy(uuid, msg);
    else await this.#failCleaning(uuid, msg);
  }

  async #resume(uuid: string, kind: 'deploy' | 'clean'): Promise<void> {
    this.#event(uuid, 'resume');
    if (kind === 'deploy') await this.#continueDeploy(uuid);
    else await this.#continueCleaning(uuid);
  }

  // --- tear down and cleaning ------------------------------------------------------------------

  /** manager.do_node_tear_down: power off, clean up boot files, wipe instance info, then clean. */
  async #tearDown(uuid: string): Promise<void> {
    this.#event(uuid, 'delete');
    try {
      await this.powerAction(uuid, PowerState.OFF);
      await removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid));
      this.#update(uuid, (n) => {
        n.instance_info = {};
        n.instance_uuid = null;
        n.deploy_step = {};
        this.#wipeDeployInfo(n);
        for (const k of ['is_whole_disk_image', 'root_uuid_or_disk_id', 'instance'])
          delete n.driver_internal_info[k];
        n.last_error = null;
      });
    } catch (err) {
      this.#update(uuid, (n) => {
        n.last_error = `Failed to tear down. Error: ${errMessage(err)}`;
        this.#applyEvent(n, 'fail');
      });
      return;
    }
    this.#event(uuid, 'clean');
    await this.#startCleaning(uuid, false, []);
  }

  /**
   * cleaning.do_node_clean: automated cleaning is skipped when disabled (straight to available);
   * otherwise (and always for manual cleaning) boot the ramdisk and wait for the agent.
   */
  async #startCleaning(uuid: string, manual: boolean, userSteps: JsonObject[]): Promise<void> {
    const node = this.#store.getNode(uuid)!;
    const enabled = node.automated_clean ?? this.#cfg.automatedClean;
    if (!manual && (!enabled || this.#isFake(node))) {
      this.#update(uuid, (n) => {
        n.clean_step = {};
        this.#wipeCleaningInfo(n);
        this.#applyEvent(n, 'done');
      });
      return;
    }
    if (manual && this.#isFake(node)) {
      this.#event(uuid, 'manage');
      return;
    }
    this.#update(uuid, (n) => {
      n.clean_step = {};
      n.last_error = null;
      this.#wipeCleaningInfo(n);
      n.driver_internal_info['clean_steps'] = manual ? (userSteps as Json) : null;
    });
    try {
      await this.#prepareRamdisk(uuid);
      await this.powerAction(uuid, PowerState.REBOOT);
    } catch (err) {
      await this.#failCleaning(uuid, `Failed to prepare node ${uuid} for cleaning: ${errMessage(err)}`);
      return;
    }
    this.#event(uuid, 'wait');
  }

  /** HeartbeatMixin._heartbeat_clean_wait. */
  async #heartbeatCleanWait(uuid: string): Promise<void> {
    const node = this.#store.getNode(uuid)!;
    let msg = 'Failed checking if cleaning is done';
    try {
      this.#update(uuid, (n) => {
        n.provision_updated_at = this.#nowIso();
      });
      if (Object.keys(node.clean_step).length === 0) {
        msg = 'Node failed to start the first cleaning step';
        this.#event(uuid, 'resume');
        const res = await this.#agentCommand(
          uuid,
          'clean.get_clean_steps',
          { node: this.#agentNodeView(node), ports: this.#store.listPorts(uuid) as unknown as Json },
          true,
        );
        const result = (res.command_result as JsonObject | null) ?? {};
        const agentSteps = (result['clean_steps'] as JsonObject | undefined) ?? {};
        const offered = Object.values(agentSteps).flat() as Step[];
        this.#update(uuid, (n) => {
          n.driver_internal_info['agent_cached_clean_steps'] = agentSteps;
          n.driver_internal_info['hardware_manager_version'] = result['hardware_manager_version'] ?? null;
          const user = n.driver_internal_info['clean_steps'] as Step[] | null;
          // Automated: every step with priority > 0, highest first (conductor/steps.py
          // _get_cleaning_steps). Manual: the user's steps in the user's order.
          const steps = user
            ? user.map((s) => ({ ...s, args: s.args ?? {}, priority: s.priority ?? 0 }))
            : offered.filter((s) => s.priority > 0).sort((a, b) => b.priority - a.priority);
          n.driver_internal_info['clean_steps'] = steps as unknown as Json;
          n.driver_internal_info['clean_step_index'] = null;
        });
        await this.#continueCleaning(uuid);
        return;
      }
      await this.#processNextStep(uuid, 'clean');
    } catch (err) {
      await this.#failCleaning(uuid, `${msg}: ${errMessage(err)}`);
    }
  }

  async #continueCleaning(uuid: string): Promise<void> {
    const node = this.#store.getNode(uuid)!;
    if (node.provision_state !== S.CLEANING) return;
    const steps = (node.driver_internal_info['clean_steps'] as Step[] | null) ?? [];
    const idx = ((node.driver_internal_info['clean_step_index'] as number | null) ?? -1) + 1;
    const step = steps[idx];
    const manual = node.target_provision_state === S.MANAGEABLE;
    if (!step) {
      // tear_down_cleaning: power off, remove the ramdisk boot files.
      await this.powerAction(uuid, PowerState.OFF);
      await removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid));
      this.#update(uuid, (n) => {
        n.clean_step = {};
        this.#wipeCleaningInfo(n);
        this.#applyEvent(n, manual ? 'manage' : 'done');
      });
      return;
    }
    this.#update(uuid, (n) => {
      n.clean_step = step;
      n.driver_internal_info['clean_step_index'] = idx;
    });
    await this.#agentCommand(uuid, 'clean.execute_clean_step', this.#stepParams(node, step, 'clean'), false);
    this.#event(uuid, 'wait');
  }

  /** utils.cleaning_error_handler: clean failed, maintenance on with fault "clean failure". */
  async #failCleaning(uuid: string, msg: string, setMaintenance = true): Promise<void> {
    const node = this.#store.getNode(uuid);
    if (!node) return;
    const manual = node.target_provision_state === S.MANAGEABLE;
    try {
      await this.powerAction(uuid, PowerState.OFF);
      await removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid));
    } catch (err) {
      log.warn('tear down cleaning of %s: %s', uuid, errMessage(err));
    }
    this.#update(uuid, (n) => {
      n.last_error = msg;
      n.clean_step = {};
      this.#wipeCleaningInfo(n);
      if (setMaintenance) {
        n.maintenance = true;
        n.fault = 'clean failure';
        n.maintenance_reason ??= msg;
      }
      if (n.provision_state !== S.CLEANFAIL) this.#applyEvent(n, 'fail', manual ? S.MANAGEABLE : null);
    });
  }

  /** `abort` in clean wait / inspect wait (manager.do_provisioning_action). */
  #abort(node: NodeRecord): void {
    const uuid = node.uuid;
    if (node.provision_state === S.CLEANWAIT) {
      const step = node.clean_step;
      if (Object.keys(step).length > 0 && step['abortable'] !== true) {
        throw ApiError.badRequest(
          `The current clean step "${JSON.stringify(step)}" for node ${uuid} is not abortable.`,
          'IronicException',
        );
      }
      this.#spawn(uuid, 'clean abort', async () => {
        const manual = node.target_provision_state === S.MANAGEABLE;
        this.#event(uuid, 'abort', manual ? S.MANAGEABLE : null);
        await this.powerAction(uuid, PowerState.OFF).catch(() => undefined);
        await removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid));
        this.#update(uuid, (n) => {
          const name =
            typeof step['step'] === 'string'
              ? ` during or after the completion of step "${step['step']}"`
              : '';
          n.last_error = `By request, the clean operation was aborted${name}`;
          n.clean_step = {};
          this.#wipeCleaningInfo(n);
        });
      });
      return;
    }
    this.#spawn(uuid, 'abort', async () => {
      this.#update(uuid, (n) => {
        this.#applyEvent(n, 'abort');
        n.last_error = 'By request, the inspect operation was aborted';
      });
    });
  }

  // --- out-of-band inspection (redfish inspect interface) ---------------------------------------

  /**
   * RedfishInspect.inspect_hardware: synchronous; properties from the System resource, a port for
   * each enabled, healthy NIC not yet known; fails unless memory_mb, local_gb, cpus and cpu_arch are
   * all found (inspect_utils ESSENTIAL_PROPERTIES).
   */
  async #inspectRedfish(uuid: string): Promise<void> {
    const node = this.#store.getNode(uuid)!;
    try {
      const found = await this.redfish.inspect(this.#redfishInfo(node));
      if (found.missing.length > 0) {
        throw new Error(`Failed to discover the following properties: ${found.missing.join(', ')}`);
      }
      const props = { ...found.properties };
      const caps = props['capabilities'];
      delete props['capabilities'];
      this.#update(uuid, (n) => {
        n.properties = { ...n.properties, ...props };
        if (typeof caps === 'string' && !String(n.properties['capabilities'] ?? '').includes('boot_mode:')) {
          const old = n.properties['capabilities'];
          n.properties['capabilities'] = typeof old === 'string' && old ? `${old},${caps}` : caps;
        }
      });
      for (const mac of found.macs) this.#addPort(uuid, mac);
    } catch (err) {
      this.#update(uuid, (n) => {
        n.last_error = `Failed to inspect hardware. Reason: ${errMessage(err)}`;
        this.#applyEvent(n, 'fail');
      });
      return;
    }
    this.#update(uuid, (n) => {
      this.#applyEvent(n, 'done');
      n.inspection_finished_at = this.#nowIso();
    });
  }

  // --- in-band inspection (inspector interface) ------------------------------------------------

  /**
   * inspector.py `_start_managed_inspection`: power off, boot the ramdisk with
   * `ipa-inspection-callback-url`, power on, wait. The agent posts its inventory to that URL
   * (ironic-inspector's `POST /v1/continue`, which the mock serves itself).
   */
  async #startInbandInspection(uuid: string): Promise<void> {
    try {
      await this.powerAction(uuid, PowerState.OFF);
      const node = this.#store.getNode(uuid)!;
      await writeRamdiskBootFiles(
        this.#cfg.bootFiles,
        {
          uuid,
          deployKernel: String(node.driver_info['deploy_kernel']),
          deployRamdisk: String(node.driver_info['deploy_ramdisk']),
        },
        this.#macs(uuid),
        `req-${randomUUID()}`,
        {
          'ipa-inspection-callback-url': `${this.#cfg.inspectorUrl ?? this.#cfg.bootFiles.apiUrl}/v1/continue`,
        },
      );
      await this.setBootDevice(node, 'pxe', false);
      await this.powerAction(uuid, PowerState.ON);
      this.#event(uuid, 'wait');
      if (this.#store.getNode(uuid)?.driver_internal_info['inspection_data_received'])
        await this.#finishInspection(uuid);
    } catch (err) {
      this.#update(uuid, (n) => {
        n.last_error = `Failed to inspect hardware. Reason: ${errMessage(err)}`;
        this.#applyEvent(n, 'fail');
      });
    }
  }

  /**
   * The end of an in-band inspection as the two services do it: ironic-inspector's `_finish` powers
   * the node off through Ironic's power API (`[processing]power_off`: power status, power off, power
   * status); then Ironic's inspector interface, seeing inspector report finished, runs `_clean_up`:
   * the ramdisk boot files go and `node_power_action(POWER_OFF)` finds the node off (one more power
   * status), then done. Measured against real Ironic 21.4 + inspector 11.1: 6 `power status` per
   * inspection in all.
   */
  async #finishInspection(uuid: string): Promise<void> {
    try {
      await this.powerAction(uuid, PowerState.OFF);
      await removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid));
      await this.powerAction(uuid, PowerState.OFF);
    } catch (err) {
      this.#update(uuid, (n) => {
        n.last_error = `Failed to clean up after inspection: ${errMessage(err)}`;
        this.#applyEvent(n, 'fail');
      });
      return;
    }
    this.#update(uuid, (n) => {
      delete n.driver_internal_info['inspection_data_received'];
      this.#applyEvent(n, 'done');
      n.inspection_finished_at = this.#nowIso();
    });
  }

  get inspectorTimeout(): number {
    return this.#cfg.inspectorTimeout;
  }

  /**
   * inspector.py `_check_status` when inspector reports an error: the same clean-up as a finished
   * inspection (power off, ramdisk boot files removed), then `inspect failed` with inspector's error.
   */
  failInspection(uuid: string, error: string): void {
    const node = this.#store.getNode(uuid);
    if (node?.provision_state !== S.INSPECTWAIT || this.#tasks.has(uuid)) return;
    this.#spawn(uuid, 'inspection failed', async () => {
      await this.powerAction(uuid, PowerState.OFF).catch(() => undefined);
      await removeBootFiles(this.#cfg.bootFiles, uuid, this.#macs(uuid)).catch(() => undefined);
      this.#update(uuid, (n) => {
        n.last_error = `ironic-inspector inspection failed: ${error}`;
        this.#applyEvent(n, 'fail');
      });
    });
  }

  /**
   * ironic-inspector's processing of `POST /v1/continue`, reduced to what its default hooks do
   * (scheduler: cpus, cpu_arch, memory_mb, local_gb; validate_interfaces with add_ports=pxe: a port for
   * the PXE MAC), then Ironic's inspector interface finishing: power off, boot files removed,
   * inspect wait -> manageable. Returns the node UUID, or throws a 404 "Could not find a node".
   */
  continueInspection(data: JsonObject): string {
    const inv = (data['inventory'] as JsonObject | undefined) ?? {};
    const ifaces = ((inv['interfaces'] as JsonObject[] | undefined) ?? []).filter(
      (i) => typeof i['mac_address'] === 'string',
    );
    const macs = ifaces.map((i) => String(i['mac_address']).toLowerCase());
    const bootMac =
      typeof data['boot_interface'] === 'string'
        ? data['boot_interface'].toLowerCase().replace(/^01-/, '').replaceAll('-', ':')
        : undefined;
    const waiting = this.#store
      .listNodes()
      .filter((n) => n.provision_state === S.INSPECTWAIT || n.provision_state === S.INSPECTING);
    let node = waiting.find((n) => this.#macs(n.uuid).some((m) => macs.includes(m) || m === bootMac));
    if (!node && typeof inv['bmc_address'] === 'string') {
      const byBmc = waiting.filter((n) => n.driver_info['ipmi_address'] === inv['bmc_address']);
      if (byBmc.length === 1) node = byBmc[0];
    }
    if (!node) {
      throw ApiError.notFound(
        `Could not find a node for attributes {'bmc_address': ['${String(inv['bmc_address'] ?? '')}'], 'mac': ${JSON.stringify(macs)}}`,
      );
    }
    const uuid = node.uuid;
    const cpu = (inv['cpu'] as JsonObject | undefined) ?? {};
    const memory = (inv['memory'] as JsonObject | undefined) ?? {};
    const disks = ((inv['disks'] as JsonObject[] | undefined) ?? []).filter(
      (d) => Number(d['size']) >= 4 * 2 ** 30,
    );
    const root =
      (data['root_disk'] as JsonObject | undefined) ??
      disks.sort((a, b) => Number(a['size']) - Number(b['size']))[0];
    const props: JsonObject = {};
    if (cpu['count'] !== undefined) props['cpus'] = Number(cpu['count']);
    if (cpu['architecture'] !== undefined) props['cpu_arch'] = cpu['architecture'];
    if (memory['physical_mb'] !== undefined) props['memory_mb'] = Number(memory['physical_mb']);
    if (root) props['local_gb'] = Math.max(Math.floor(Number(root['size']) / 2 ** 30) - 1, 0);
    this.#update(uuid, (n) => {
      n.properties = { ...n.properties, ...props };
    });
    const pxeMac = bootMac ?? macs[0];
    if (pxeMac) this.#addPort(uuid, pxeMac);
    // Inspector knows the node from start_introspection on, which Ironic calls before powering on:
    // data may arrive while the start is still running; then the start task finishes the job.
    this.#update(uuid, (n) => {
      n.driver_internal_info['inspection_data_received'] = true;
    });
    if (node.provision_state === S.INSPECTWAIT && !this.#tasks.has(uuid)) {
      this.#spawn(uuid, 'inspection finish', () => this.#finishInspection(uuid));
    }
    return uuid;
  }

  // ---------------------------------------------------------------------------------------------
  // Periodic tasks

  /**
   * manager._sync_power_states / _do_sync_power_state: read each idle node's power state; record it
   * when unknown; on a mismatch set the hardware back to the recorded state
   * (force_power_state_during_sync), and after power_state_sync_max_retries failures put the node
   * in maintenance with fault "power failure".
   */
  async syncPowerStates(): Promise<void> {
    if (this.#stopped) return;
    for (const node of this.#store.listNodes()) {
      if (this.#stopped) return;
      if (node.reservation !== null || this.#tasks.has(node.uuid) || node.maintenance || this.#isFake(node))
        continue;
      if ((SYNC_EXCLUDED_STATES as readonly string[]).includes(node.provision_state)) continue;
      let actual: string | null = null;
      let error: unknown;
      try {
        actual = await this.#getPowerState(node);
      } catch (err) {
        error = err;
      }
      // do_sync_power_state caches the vendor once the BMC has answered (a node enrolled before it did).
      if (error === undefined) await this.#cacheVendor(node.uuid);
      const fresh = this.#store.getNode(node.uuid);
      if (!fresh || fresh.reservation !== null || this.#tasks.has(node.uuid) || fresh.maintenance) continue;
      if (error === undefined && fresh.power_state === actual) {
        this.#syncFailures.delete(node.uuid);
        continue;
      }
      if (error === undefined && fresh.power_state === null) {
        this.#update(node.uuid, (n) => {
          n.power_state = actual;
        });
        continue;
      }
      const count = (this.#syncFailures.get(node.uuid) ?? 0) + 1;
      this.#syncFailures.set(node.uuid, count);
      if (count > this.#cfg.powerStateSyncMaxRetries) {
        this.#syncFailures.delete(node.uuid);
        this.#update(node.uuid, (n) => {
          const old = n.power_state;
          n.power_state = actual;
          n.maintenance = true;
          n.fault = 'power failure';
          n.maintenance_reason =
            `During sync_power_state, max retries exceeded for node ${n.uuid}, node state ${actual} does not match expected state '${old}'. Updating DB state to '${actual}' Switching node to maintenance mode.` +
            (error === undefined ? '' : ` Error: ${errMessage(error)}`);
        });
        continue;
      }
      if (error !== undefined) continue;
      if (this.#cfg.forcePowerStateDuringSync && fresh.power_state) {
        log.warn(
          "During sync_power_state, node %s state '%s' does not match expected state. Changing hardware state to '%s'.",
          node.uuid,
          actual,
          fresh.power_state,
        );
        const want = fresh.power_state;
        try {
          this.#spawn(node.uuid, 'power sync', () => this.powerAction(node.uuid, want));
        } catch {
          // locked meanwhile: next round
        }
      } else {
        this.#update(node.uuid, (n) => {
          n.power_state = actual;
        });
      }
    }
  }

  /**
   * manager._check_deploy_timeouts / _check_cleanwait_timeouts: unreserved nodes that waited for the
   * agent longer than the callback timeout fail with Ironic's messages.
   */
  checkCallbackTimeouts(): void {
    if (this.#stopped) return;
    const now = this.#timers.now();
    for (const node of this.#store.listNodes()) {
      if (node.reservation !== null || this.#tasks.has(node.uuid) || node.maintenance) continue;
      const since = node.provision_updated_at ? Date.parse(node.provision_updated_at) : now;
      if (node.provision_state === S.DEPLOYWAIT && this.#cfg.deployCallbackTimeout > 0) {
        if (now - since > this.#cfg.deployCallbackTimeout * 1000) {
          this.#spawn(node.uuid, 'deploy timeout', async () => {
            this.#failDeploy(node.uuid, `Timeout reached while waiting for callback for node ${node.uuid}`);
          });
        }
      } else if (node.provision_state === S.INSPECTWAIT && this.#cfg.inspectWaitTimeout > 0) {
        if (now - since > this.#cfg.inspectWaitTimeout * 1000) {
          this.#spawn(node.uuid, 'inspect timeout', async () => {
            this.#update(node.uuid, (n) => {
              n.last_error = 'Timeout reached while inspecting the node';
              this.#applyEvent(n, 'fail');
            });
            await this.powerAction(node.uuid, PowerState.OFF).catch(() => undefined);
          });
        }
      } else if (node.provision_state === S.CLEANWAIT && this.#cfg.cleanCallbackTimeout > 0) {
        if (now - since > this.#cfg.cleanCallbackTimeout * 1000) {
          const step = JSON.stringify(node.clean_step);
          this.#spawn(node.uuid, 'clean timeout', () =>
            this.#failCleaning(
              node.uuid,
              `Timeout reached while cleaning the node. Please check if the ramdisk responsible for the cleaning is running on the node. Failed on step ${step}.`,
            ),
          );
        }
      }
    }
  }
}
