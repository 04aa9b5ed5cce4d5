/**
 * Keeps each node's state in the lab state store and puts it back when the lab starts again:
 * the node's spec, its BMC (users, boot option parameters, policies, SEL, FRU writes, LAN/SOL/DCMI
 * settings, sensor thresholds and faults), its machine (power, boot override, disk contents,
 * power-on hours) and the faults set through the lab API.
 *
 * Write-through: a change is written as soon as the event-loop turn it happened in ends (after the
 * IPMI answer is sent, the machine event, the lab API call), for every node it touched. What tells
 * us something may have changed: the BMC state's change hook (`watchBmcState`), the machine's, and
 * `nodeChanged` from the lab API; a slow sweep catches what reaches the BMC's state another way
 * (Redfish sensor scans) and the hour meter. Each part is compared with what was last written, so
 * an unchanged node costs a snapshot and no write.
 *
 * After a restart a node comes back as a real rack does when AC power returns: the BMC keeps its
 * non-volatile settings, and the machine powers on if its BMC's power restore policy says so —
 * "previous" (the lab's default, as Dell's and HPE's BMCs ship) brings back what was on, "always
 * on" everything, "always off" nothing. A machine that comes back on boots afresh from its boot
 * flags (a deployed node boots its image from disk) with restart cause "AC applied by policy".
 */

import type { AgentFaults } from '../../../agent/src/index.ts';
import type { BmcEndpoint, BmcFaults } from '../../../bmc-emulator/src/index.ts';
import {
  type Bmc,
  type BmcSnapshot,
  restoreBmcState,
  restoreSel,
  type SelSnapshot,
  snapshotBmcState,
  snapshotSel,
  watchBmcState,
} from '../../../bmc-emulator/src/index.ts';
import { BmlabError, createLogger, systemClock } from '../../../common/src/index.ts';
import type { Machine, MachineSpec } from '../../../vm-fleet/src/index.ts';
import { LabStateError, LabStateStore, type Section } from './store.ts';

const log = createLogger('lab:state');

/** What a node must offer to be persisted (LabNode has it). */
export interface PersistedNode {
  readonly name: string;
  readonly index: number;
  readonly machine: Machine;
  readonly bmc: Bmc;
  readonly endpoint: BmcEndpoint;
  agentFaults: AgentFaults | undefined;
}

/** A machine backend that can hand over and take back its state (sim and qemu machines). */
interface RestorableMachine {
  snapshot(): { readonly power: 'on' | 'off' };
  restore(snap: unknown): void;
  onChange(listener: () => void): () => void;
}

function restorable(m: Machine): m is Machine & RestorableMachine {
  const r = m as Partial<RestorableMachine>;
  return (
    typeof r.snapshot === 'function' && typeof r.restore === 'function' && typeof r.onChange === 'function'
  );
}

interface FaultsSnapshot {
  readonly bmc: Pick<BmcFaults, 'latencyMs' | 'dropRate' | 'noAnswer'>;
  readonly agent: AgentFaults | null;
}

/** Power restore policies (Get Chassis Status byte 1 bits 6:5) and the restart causes they give (table 28-11). */
const POLICY_ALWAYS_ON = 2;
const POLICY_PREVIOUS = 1;
const CAUSE_AC_ALWAYS_ON = 0x06;
const CAUSE_AC_PREVIOUS = 0x07;

/** How often every node is compared with the store, for changes no hook reported. */
const SWEEP_MS = 5_000;

const watched = new WeakMap<object, () => void>();

/** Tells the node's lab state that something outside the BMC and machine changed (lab API faults). */
export function nodeChanged(node: object): void {
  watched.get(node)?.();
}

export class LabState {
  readonly store: LabStateStore;
  readonly #nodes: PersistedNode[] = [];
  readonly #last = new Map<PersistedNode, Partial<Record<Section, string>>>();
  readonly #selMark = new Map<PersistedNode, string>();
  readonly #dirty = new Set<PersistedNode>();
  readonly #unsubscribe: (() => void)[] = [];
  #scheduled = false;
  #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(store: LabStateStore) {
    this.store = store;
  }

  /** Opens the store (`:memory:` without a path); a file it must not use is a LabStateError. */
  static open(path?: string): LabState {
    return new LabState(LabStateStore.open(path));
  }

  /**
   * Puts back every node's stored state (nodes the store does not know start fresh and are added)
   * and starts writing changes through. Returns the nodes whose power restore policy says they
   * come back on: power them on with `powerOnRestored` once the lab is listening.
   */
  attach(nodes: readonly PersistedNode[]): PersistedNode[] {
    const comeBack: PersistedNode[] = [];
    for (const n of nodes) {
      const stored = this.store.get(n.name);
      if (stored !== undefined) {
        try {
          if (this.#restore(n, stored.sections)) comeBack.push(n);
        } catch (err) {
          if (err instanceof BmlabError && !(err instanceof LabStateError))
            throw new LabStateError(this.store.path, `node '${n.name}': ${err.message}`, { cause: err });
          throw err;
        }
        if (JSON.stringify(stored.spec) !== JSON.stringify(n.machine.spec))
          log.warn('%s: the spec changed since the last run; the new one applies', n.name);
      }
      this.store.putNode(n.name, n.index, n.machine.spec satisfies MachineSpec);
      this.#nodes.push(n);
      this.#watch(n);
      this.#flushNode(n);
    }
    this.#sweep = setInterval(() => {
      for (const n of this.#nodes) this.#dirty.add(n);
      this.#flush();
    }, SWEEP_MS);
    this.#sweep.unref();
    return comeBack;
  }

  /** Powers on the nodes `attach` returned, as after AC power comes back. */
  async powerOnRestored(nodes: readonly PersistedNode[]): Promise<void> {
    for (const n of nodes) {
      const s = n.bmc.state;
      s.restartCause = s.powerRestorePolicy === POLICY_ALWAYS_ON ? CAUSE_AC_ALWAYS_ON : CAUSE_AC_PREVIOUS;
      s.lastPowerOnByCommand = false;
      await n.machine.powerOn();
      log.debug('%s: powered on after the restart (power restore policy)', n.name);
    }
  }

  /** Writes what is pending and stops recording (before the lab powers its machines off). */
  close(): void {
    if (this.#closed) return;
    // Every node, not only those a hook marked: the hour meter moves without telling anyone.
    for (const n of this.#nodes) this.#dirty.add(n);
    this.#flush();
    this.#closed = true;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    for (const u of this.#unsubscribe.splice(0)) u();
    this.store.close();
  }

  /** Writes every pending change now. */
  flush(): void {
    this.#flush();
  }

  #restore(n: PersistedNode, sections: Partial<Record<Section, unknown>>): boolean {
    const bmc = sections.bmc as BmcSnapshot | undefined;
    // The lab builds its BMCs on the system clock.
    if (bmc !== undefined) restoreBmcState(n.bmc.state, bmc, systemClock.now());
    const sel = sections.sel as SelSnapshot | undefined;
    if (sel !== undefined) restoreSel(n.bmc.state.hw.sel, sel);
    const faults = sections.faults as FaultsSnapshot | undefined;
    if (faults !== undefined) {
      n.endpoint.setFaults({ ...faults.bmc });
      n.agentFaults = faults.agent ?? undefined;
    }
    const machine = sections.machine as { power?: unknown } | undefined;
    if (machine === undefined || !restorable(n.machine)) return false;
    n.machine.restore(machine);
    const policy = n.bmc.state.powerRestorePolicy;
    return policy === POLICY_ALWAYS_ON || (policy === POLICY_PREVIOUS && machine.power === 'on');
  }

  #watch(n: PersistedNode): void {
    const touch = () => this.#touch(n);
    watched.set(n, touch);
    this.#unsubscribe.push(watchBmcState(n.bmc, touch));
    if (restorable(n.machine)) this.#unsubscribe.push(n.machine.onChange(touch));
  }

  #touch(n: PersistedNode): void {
    if (this.#closed) return;
    this.#dirty.add(n);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the current turn: the BMC's own listeners (SEL entries for a machine event) have run.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    for (const n of this.#dirty) this.#flushNode(n);
    this.#dirty.clear();
  }

  #flushNode(n: PersistedNode): void {
    const last = this.#last.get(n) ?? {};
    const parts: Partial<Record<Section, string>> = {};
    const put = (s: Section, json: string) => {
      if (last[s] !== json) parts[s] = json;
    };
    put('bmc', JSON.stringify(snapshotBmcState(n.bmc.state, systemClock.now())));
    // The SEL is the one part that grows: serialise it only when its bookkeeping moved.
    const sel = n.bmc.state.hw.sel;
    const mark = `${sel.entries.length}:${sel.nextId}:${sel.lastAddition}:${sel.lastErase}:${sel.overflow}:${sel.entries[0]?.id}`;
    if (this.#selMark.get(n) !== mark) {
      put('sel', JSON.stringify(snapshotSel(sel)));
      this.#selMark.set(n, mark);
    }
    if (restorable(n.machine)) put('machine', JSON.stringify(n.machine.snapshot()));
    const f = n.endpoint.faults;
    const faults: FaultsSnapshot = {
      bmc: { latencyMs: f.latencyMs, dropRate: f.dropRate, noAnswer: f.noAnswer },
      agent: n.agentFaults ?? null,
    };
    put('faults', JSON.stringify(faults));
    if (Object.keys(parts).length === 0) return;
    try {
      this.store.write(n.name, parts);
      this.#last.set(n, { ...last, ...parts });
    } catch (err) {
      log.warn('%s: could not write its state to %s: %s', n.name, this.store.path, (err as Error).message);
    }
  }
}
