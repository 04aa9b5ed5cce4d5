import { describe, expect, it } from 'vitest';
import { runInLab } from '../../../lab/src/index.ts';
import { inspectionNeverCallsBack } from './inspection-never-calls-back.ts';

describe('inspection-never-calls-back against the mock', () => {
  it("ends in inspect failed with inspector's timeout message, powered off, then manageable again", async () => {
    // The mock's inspector with a 3 s timeout (the scenario asks real inspector for 20 s).
    const scenario = { ...inspectionNeverCallsBack, needs: { inspectorTimeout: 3 } };
    const rec = await runInLab({ scenario, ironic: 'mock', backend: 'sim', nodes: 1, out: () => {} });
    const failures = rec.assertions.filter((a) => !a.ok).map((a) => `${a.name}: ${a.message}`);
    expect(failures).toEqual([]);
    expect(rec.ok).toBe(true);
    expect(rec.assertions.find((a) => a.name === "inspector's timeout message")?.message).toBe(
      'last_error: ironic-inspector inspection failed: Introspection timeout',
    );
    const states = rec.nodes[0]?.provisionStates ?? [];
    expect(states.slice(states.indexOf('manageable'))).toEqual([
      'manageable',
      'inspecting',
      'inspect wait',
      'inspect failed',
      'manageable',
    ]);
    // The agent booted for the inspection and never posted: no 'inspected' event in the trace.
    expect(rec.events.some((e) => e.kind === 'agent' && /inspected|inspection finished/.test(e.label))).toBe(
      false,
    );
  }, 60_000);
});
