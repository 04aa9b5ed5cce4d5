/**
 * Conformance and fidelity against REAL Ironic 21.4 + ironic-inspector 11.1 (Debian's packages,
 * started by the lab for each run, `bmlab run <scenario> --ironic real`), sim backend: the built-in
 * scenarios, unchanged, must pass against the real thing, and the mock must behave the same node by
 * node (`bmlab fidelity`: provision-state phases and API errors; known differences are listed with
 * their reason in scenarios/src/fidelity.ts). The fidelity report is written to
 * $BMLAB_FIDELITY_REPORT (default: a temporary directory) and printed. Run with `npm run test:ironic`.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FidelityRun, runFidelity } from '../../cli/src/fidelity.ts';
import { fidelityText, type RunRecord } from '../../scenarios/src/index.ts';
import { hasRealInspector, hasRealIronic } from './real-ironic.ts';

const SCENARIOS = [
  // ipmi: in-band inspection through real inspector, direct deploy, ipxe boot.
  'enroll-inspect-deploy',
  // redfish: out-of-band inspection from the BMC's System resource.
  'enroll-inspect-deploy:driver=redfish',
  // undeploy with automated cleaning: a second agent boot runs the clean steps.
  'clean-on-undeploy',
  // BMC faults: wrong password (manage fails back to enroll), and an outage mid-deploy.
  'wrong-bmc-credentials',
  'bmc-unreachable-during-deploy',
  // The agent's heartbeats stop: deploy_callback_timeout fails the deploy.
  'agent-heartbeat-lost',
  // inspector's [DEFAULT]timeout when the ramdisk never calls back.
  'inspection-never-calls-back',
  // Refused requests: the mock must give real Ironic's status codes and messages.
  'invalid-requests',
];

const reportDir = process.env['BMLAB_FIDELITY_REPORT'] ?? mkdtempSync(join(tmpdir(), 'bmlab-fidelity-'));
let result: FidelityRun;

function realRun(name: string): RunRecord {
  const r = result.runs.find((x) => x.scenario === name);
  if (r === undefined) throw new Error(`no run of ${name}`);
  return r.real;
}

function failures(rec: RunRecord): string[] {
  return [
    ...rec.nodes.filter((n) => !n.ok).map((n) => `${n.node}: ${n.failure?.step}: ${n.failure?.message}`),
    ...rec.assertions.filter((a) => !a.ok).map((a) => `${a.node ?? ''} ${a.name}: ${a.message}`),
  ];
}

describe.skipIf(!hasRealIronic || !hasRealInspector)(
  'built-in scenarios against real Ironic 21.4 + inspector',
  () => {
    beforeAll(async () => {
      const t0 = Date.now();
      result = await runFidelity({
        scenarios: SCENARIOS,
        nodes: 1,
        reportDir,
        out: (l) => console.log(l),
      });
      console.log(`${fidelityText(result.report)}\n(all runs: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }, 1_500_000);

    it.each(SCENARIOS)('%s passes against real Ironic', (name) => {
      const rec = realRun(name);
      expect(rec.ironic).toBe('real');
      expect(failures(rec)).toEqual([]);
      expect(rec.ok).toBe(true);
    });

    it('ipmi nodes are inspected in-band (inspect wait: waiting for the agent), redfish nodes out-of-band', () => {
      const ipmi = realRun('enroll-inspect-deploy').nodes[0]?.provisionStates ?? [];
      const redfish = realRun('enroll-inspect-deploy:driver=redfish').nodes[0]?.provisionStates ?? [];
      expect(ipmi).toContain('inspect wait');
      expect(redfish).toContain('inspecting');
      expect(redfish).not.toContain('inspect wait');
      // Undeploy with automated cleaning boots the agent again: clean wait.
      expect(realRun('clean-on-undeploy').nodes[0]?.provisionStates).toContain('clean wait');
    });

    it("a ramdisk that never calls back: inspector's timeout message, as the mock gives it", () => {
      const mock = result.runs.find((r) => r.scenario === 'inspection-never-calls-back')?.mock;
      for (const rec of [realRun('inspection-never-calls-back'), mock]) {
        expect(rec?.assertions.find((a) => a.name === "inspector's timeout message")).toMatchObject({
          ok: true,
          message: 'last_error: ironic-inspector inspection failed: Introspection timeout',
        });
      }
    });

    it('the mock behaves as real Ironic: no unexplained difference, report written', () => {
      const unexplained = result.report.scenarios.flatMap((s) =>
        s.differences.filter((d) => d.known === undefined),
      );
      expect(unexplained).toEqual([]);
      for (const f of ['fidelity.txt', 'fidelity.json', 'fidelity.html'])
        expect(existsSync(join(reportDir, f))).toBe(true);
      const json = JSON.parse(readFileSync(join(reportDir, 'fidelity.json'), 'utf8')) as {
        scenarios: unknown[];
      };
      expect(json.scenarios).toHaveLength(SCENARIOS.length);
    });
  },
);
