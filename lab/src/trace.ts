/**
 * The lab's event trace: what each node's machine, BMC and agent did, in order, with wall-clock
 * times — the raw material of scenario timelines. Bounded per node so a long-running lab does not
 * grow without end.
 */
import type { AgentEvent } from '../../agent/src/index.ts';
import type { CommandTrace } from '../../bmc-emulator/src/index.ts';
import type { MachineEvent } from '../../vm-fleet/src/index.ts';

export type TraceKind = 'power' | 'boot' | 'ipmi' | 'agent' | 'fault';

export interface TraceEvent {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly node: string;
  readonly kind: TraceKind;
  readonly label: string;
  readonly detail?: string;
  readonly ok?: boolean;
}

const MAX_PER_NODE = 20_000;
const hex = (n: number) => n.toString(16).padStart(2, '0');

export class Trace {
  readonly #byNode = new Map<string, TraceEvent[]>();
  readonly #counts = new Map<string, number>();

  add(e: TraceEvent): void {
    let list = this.#byNode.get(e.node);
    if (list === undefined) {
      list = [];
      this.#byNode.set(e.node, list);
    }
    list.push(e);
    if (list.length > MAX_PER_NODE) list.splice(0, list.length - MAX_PER_NODE);
    if (e.kind === 'ipmi') this.#counts.set(e.node, (this.#counts.get(e.node) ?? 0) + 1);
  }

  /** Events of one node (or all), optionally only those at or after `since` (epoch ms). */
  events(node?: string, since = 0): TraceEvent[] {
    const lists = node === undefined ? [...this.#byNode.values()] : [this.#byNode.get(node) ?? []];
    const out = lists.flat().filter((e) => e.at >= since);
    return node === undefined ? out.sort((a, b) => a.at - b.at) : out;
  }

  /** IPMI requests this node's BMC has answered since the lab started. */
  ipmiCount(node: string): number {
    return this.#counts.get(node) ?? 0;
  }

  machine(node: string, e: MachineEvent): void {
    const at = Date.now();
    switch (e.type) {
      case 'power':
        this.add({ at, node, kind: 'power', label: `power ${e.state}`, detail: e.cause });
        return;
      case 'post':
        this.add({ at, node, kind: 'boot', label: 'POST' });
        return;
      case 'boot-source':
        this.add({
          at,
          node,
          kind: 'boot',
          label: `boot ${e.device}`,
          detail: e.override ? 'override' : 'boot order',
        });
        return;
      case 'boot-override-cleared':
        this.add({ at, node, kind: 'boot', label: 'boot override cleared', detail: e.reason });
        return;
      case 'network-boot':
        this.add({
          at,
          node,
          kind: 'boot',
          label: e.step,
          ...(e.detail === undefined ? {} : { detail: e.detail }),
        });
        return;
      case 'os-reached':
        this.add({ at, node, kind: 'boot', label: `OS ${e.os}` });
        return;
      case 'boot-failed':
        this.add({ at, node, kind: 'boot', label: 'boot failed', detail: e.reason, ok: false });
        return;
      case 'nmi':
        this.add({ at, node, kind: 'power', label: 'NMI' });
        return;
    }
  }

  ipmi(node: string, t: CommandTrace): void {
    this.add({
      at: Date.now(),
      node,
      kind: 'ipmi',
      label: t.name,
      detail: `netFn ${hex(t.netFn)}h cmd ${hex(t.cmd)}h cc ${hex(t.cc)}h`,
      // Probes answered "invalid command" are expected traffic, not errors.
      ok: t.cc === 0 || (t.cc === 0xc1 && t.netFn === 0x2c),
    });
  }

  agent(node: string, e: AgentEvent): void {
    const at = Date.now();
    switch (e.type) {
      case 'command':
        this.add({ at, node, kind: 'agent', label: e.name, detail: e.status, ok: e.status !== 'FAILED' });
        return;
      case 'looked-up':
        this.add({ at, node, kind: 'agent', label: 'lookup', detail: e.nodeUuid });
        return;
      case 'heartbeat':
        this.add({
          at,
          node,
          kind: 'agent',
          label: 'heartbeat',
          ok: e.ok,
          ...(e.error === undefined ? {} : { detail: e.error }),
        });
        return;
      case 'lookup-retry':
        this.add({ at, node, kind: 'agent', label: 'lookup retry', detail: e.reason });
        return;
      case 'inspected':
        this.add({ at, node, kind: 'agent', label: 'inspection data sent' });
        return;
      case 'heartbeats-stopped':
        this.add({ at, node, kind: 'agent', label: 'heartbeats stopped (fault)', ok: false });
        return;
      case 'shutdown':
        this.add({ at, node, kind: 'agent', label: e.kind });
        return;
      case 'listening':
      case 'stopped':
        this.add({ at, node, kind: 'agent', label: `agent ${e.type}` });
        return;
    }
  }
}
