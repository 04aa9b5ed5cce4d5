/**
 * Runs one scenario against an Ironic and a lab, both given by URL, and returns the run record
 * the reports are made from. Provision states are observed by polling Ironic; power, boot, IPMI
 * and agent events come from the lab's trace.
 */
import { IronicClient, type IronicNode } from './ironic-client.ts';
import { type LabClient, type LabEvent, LabClient as LabHttpClient, type LabNodeInfo } from './lab-client.ts';
import type { AssertionResult, NodeResult, RunRecord, StepResult, TimelineEvent } from './record.ts';
import type { Scenario, ScenarioContext } from './scenario.ts';

export interface RunOptions {
  readonly ironicUrl: string;
  /** How the report names the Ironic (`mock` or its URL). */
  readonly ironicLabel: string;
  readonly labUrl: string;
  readonly nodes: number;
  readonly backend: 'sim' | 'qemu';
  readonly stateTimeoutMs?: number;
  readonly pollMs?: number;
  /** Progress lines (node, what happened) as the run goes. */
  readonly onProgress?: (node: string | undefined, text: string) => void;
}

class StepFailed extends Error {}

/**
 * States a node rests in: waiting for one means waiting until no transition is under way
 * (target_provision_state empty). Any other state — a wait state, or a failure, which keeps its
 * target in Ironic — counts as soon as the node is seen in it.
 */
const STABLE = new Set(['enroll', 'manageable', 'available', 'active']);

export async function runScenario(scenario: Scenario, o: RunOptions): Promise<RunRecord> {
  const t0 = Date.now();
  const rel = (at: number) => Math.max(0, at - t0);
  const events: TimelineEvent[] = [];
  const steps: StepResult[] = [];
  const assertions: AssertionResult[] = [];
  const states = new Map<string, string[]>();
  const failures = new Map<string, { step: string; message: string }>();
  const runFailures: string[] = [];
  const nodeOfUuid = new Map<string, string>();
  const progress = o.onProgress ?? (() => {});

  const ironic = new IronicClient(o.ironicUrl, {
    onCall: (c) => {
      const uuid = /\/v1\/nodes\/([^/?]+)/.exec(c.path)?.[1];
      const node = (uuid && nodeOfUuid.get(uuid)) || '';
      events.push({
        at: rel(c.at),
        node,
        kind: 'api',
        label: `${c.method} ${c.path.replace(/\?.*/, '')} → ${c.status}`,
        ...(c.error === undefined ? {} : { detail: c.error }),
        ok: c.error === undefined,
      });
    },
  });
  const lab: LabClient = new LabHttpClient(o.labUrl);
  const labInfo = await lab.info();
  const all = await lab.nodes();
  if (all.length < o.nodes) throw new Error(`the lab has ${all.length} nodes, the run wants ${o.nodes}`);
  const nodes = all.slice(0, o.nodes);
  const ipmiBefore = new Map(nodes.map((n) => [n.name, n.ipmiCommands]));

  const fail = (node: string | undefined, step: string, message: string) => {
    if (node === undefined) runFailures.push(`${step}: ${message}`);
    else if (!failures.has(node)) failures.set(node, { step, message });
  };

  const ctx: ScenarioContext = {
    options: Object.fromEntries(Object.entries(scenario.options ?? {}).map(([k, v]) => [k, v.default])),
    ironic,
    lab,
    labInfo,
    nodes,
    timing: { stateTimeoutMs: o.stateTimeoutMs ?? 120_000, pollMs: o.pollMs ?? 250 },
    async step(node, name, fn) {
      const startedAt = rel(Date.now());
      events.push({ at: startedAt, node: node ?? '', kind: 'step', label: `${name} …` });
      progress(node, name);
      try {
        const r = await fn();
        const endedAt = rel(Date.now());
        steps.push({ name, ...(node === undefined ? {} : { node }), startedAt, endedAt, ok: true });
        events.push({ at: endedAt, node: node ?? '', kind: 'step', label: `${name} done`, ok: true });
        return r;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const endedAt = rel(Date.now());
        steps.push({
          name,
          ...(node === undefined ? {} : { node }),
          startedAt,
          endedAt,
          ok: false,
          error: message,
        });
        events.push({
          at: endedAt,
          node: node ?? '',
          kind: 'step',
          label: `${name} failed`,
          detail: message,
          ok: false,
        });
        fail(node, name, message);
        progress(node, `FAILED ${name}: ${message}`);
        throw new StepFailed(message, { cause: err });
      }
    },
    check(node, name, ok, message) {
      assertions.push({ name, ...(node === undefined ? {} : { node }), ok, message });
      if (!ok) fail(node, name, message);
    },
    async waitForState(node, uuid, state, w = {}) {
      nodeOfUuid.set(uuid, node);
      const want = typeof state === 'string' ? [state] : state;
      const seen = states.get(node) ?? [];
      states.set(node, seen);
      const n: IronicNode = await ironic.waitFor(
        uuid,
        (x) =>
          (want.includes(x.provision_state) &&
            (!STABLE.has(x.provision_state) || !x.target_provision_state)) ||
          (w.failOn ?? []).includes(x.provision_state),
        {
          timeoutMs: w.timeoutMs ?? ctx.timing.stateTimeoutMs,
          pollMs: ctx.timing.pollMs,
          what: `waiting for ${want.join(' or ')}`,
          onState: (s, x) => {
            if (seen.at(-1) !== s) {
              seen.push(s);
              events.push({
                at: rel(Date.now()),
                node,
                kind: 'provision',
                label: s,
                ...(x.last_error ? { detail: x.last_error } : {}),
                ok: !/fail|error/.test(s),
              });
              progress(node, s);
            }
          },
        },
      );
      if (!want.includes(n.provision_state)) {
        throw new Error(`node went to ${n.provision_state}${n.last_error ? `: ${n.last_error}` : ''}`);
      }
      return n;
    },
    async forEachNode(fn) {
      await Promise.all(
        nodes.map(async (n) => {
          try {
            await fn(n);
          } catch (err) {
            // Step failures are recorded already; anything else is the node's failure too.
            if (!(err instanceof StepFailed))
              fail(n.name, 'scenario', err instanceof Error ? err.message : String(err));
          }
        }),
      );
    },
    statesSeen(node) {
      return states.get(node) ?? [];
    },
    note(node, label, detail) {
      events.push({
        at: rel(Date.now()),
        node,
        kind: 'step',
        label,
        ...(detail === undefined ? {} : { detail }),
      });
    },
  };

  try {
    await scenario.run(ctx);
  } catch (err) {
    if (!(err instanceof StepFailed)) runFailures.push(err instanceof Error ? err.message : String(err));
  }

  const labEvents: LabEvent[] = await lab.events(t0).catch(() => []);
  const used = new Set(nodes.map((n) => n.name));
  for (const e of labEvents) {
    if (!used.has(e.node)) continue;
    events.push({
      at: rel(e.at),
      node: e.node,
      kind: e.kind === 'fault' ? 'fault' : e.kind,
      label: e.label,
      ...(e.detail === undefined ? {} : { detail: e.detail }),
      ...(e.ok === undefined ? {} : { ok: e.ok }),
    });
  }
  events.sort((a, b) => a.at - b.at);
  const finalNodes = await lab.nodes().catch(() => all);
  const durationMs = Date.now() - t0;
  const nodeResults: NodeResult[] = nodes.map((n) => {
    const now: LabNodeInfo = finalNodes.find((x) => x.name === n.name) ?? n;
    const failure = failures.get(n.name);
    // What the machine itself last reported booting (an OS reached), else where it is now.
    const lastOs = labEvents
      .filter((e) => e.node === n.name && e.kind === 'boot' && e.label.startsWith('OS '))
      .at(-1);
    const booted = lastOs !== undefined ? lastOs.label.slice(3) : now.runState;
    const stepsOfNode = steps.filter((s) => s.node === n.name);
    return {
      node: n.name,
      ok: failure === undefined && runFailures.length === 0,
      provisionStates: states.get(n.name) ?? [],
      finalPowerState: now.power,
      bootDevice: `${now.bootOverride.device}${now.bootOverride.persistent ? ' (persistent)' : ''}`,
      booted,
      ipmiCommands: now.ipmiCommands - (ipmiBefore.get(n.name) ?? 0),
      durationMs:
        stepsOfNode.length === 0
          ? 0
          : Math.max(...stepsOfNode.map((s) => s.endedAt)) - Math.min(...stepsOfNode.map((s) => s.startedAt)),
      ...(failure === undefined ? {} : { failure }),
    };
  });
  for (const m of runFailures) assertions.push({ name: 'run', ok: false, message: m });
  return {
    scenario: scenario.name,
    description: scenario.description,
    ironic: o.ironicLabel,
    backend: o.backend,
    startedAt: new Date(t0).toISOString(),
    durationMs,
    ok: runFailures.length === 0 && nodeResults.every((n) => n.ok),
    nodes: nodeResults,
    steps,
    assertions,
    events,
  };
}
