import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockIronic } from '../server.ts';
import { isoTime } from '../store/records.ts';

const V = { 'X-OpenStack-Ironic-API-Version': '1.82', 'Content-Type': 'application/json' };

/**
 * A restart never loses a node, and nodes caught mid-operation end the way Ironic's conductor ends
 * them on start-up (base_manager.py init_host: STUCK_STATES_TREATED_AS_FAIL get `fail`) or later
 * (manager.py _check_deploy_timeouts: wait call-back past deploy_callback_timeout fails).
 */
describe('restart and takeover', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mock-ironic-takeover-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = async (conductor: object = {}) => {
    const m = new MockIronic({
      port: 0,
      stateDir: dir,
      conductor: { syncPowerStateInterval: 0, checkProvisionStateInterval: 0, ...conductor },
    });
    await m.start();
    return m;
  };

  it('keeps every node and fails the ones a conductor cannot resume', async () => {
    const first = await start();
    const names = ['deploying', 'cleaning', 'verifying', 'deleting', 'waiting', 'steady'];
    const uuids: Record<string, string> = {};
    for (const name of names) {
      const res = await fetch(`${first.url}/v1/nodes`, {
        method: 'POST',
        headers: V,
        body: JSON.stringify({ driver: 'fake-hardware', name }),
      });
      uuids[name] = ((await res.json()) as { uuid: string }).uuid;
    }
    // Freeze nodes mid-operation, as a crash would leave them (reservation still held).
    const freeze = (name: string, state: string, target: string | null) => {
      const n = first.store.getNode(uuids[name]!)!;
      first.store.saveNode({
        ...n,
        provision_state: state as never,
        target_provision_state: target as never,
        reservation: 'mock-ironic',
      });
    };
    freeze('deploying', 'deploying', 'active');
    freeze('cleaning', 'cleaning', 'available');
    freeze('verifying', 'verifying', 'manageable');
    freeze('deleting', 'deleting', 'available');
    freeze('waiting', 'wait call-back', 'active');
    await first.stop();

    const second = await start();
    try {
      const get = async (name: string) =>
        (await (await fetch(`${second.url}/v1/nodes/${name}`, { headers: V })).json()) as Record<
          string,
          unknown
        >;
      const all = (await (await fetch(`${second.url}/v1/nodes`, { headers: V })).json()) as {
        nodes: unknown[];
      };
      expect(all.nodes).toHaveLength(names.length);
      const deploying = await get('deploying');
      expect(deploying).toMatchObject({
        provision_state: 'deploy failed',
        target_provision_state: 'active',
        reservation: null,
      });
      expect(deploying['last_error']).toBe(
        "The deploying state can't be resumed by conductor mock-ironic. Moving to fail state.",
      );
      expect(await get('cleaning')).toMatchObject({ provision_state: 'clean failed' });
      expect(await get('verifying')).toMatchObject({
        provision_state: 'enroll',
        target_provision_state: null,
      });
      expect(await get('deleting')).toMatchObject({ provision_state: 'error' });
      // Waiting for the agent survives a restart: the next heartbeat resumes it.
      expect(await get('waiting')).toMatchObject({
        provision_state: 'wait call-back',
        reservation: null,
        last_error: null,
      });
      expect(await get('steady')).toMatchObject({ provision_state: 'enroll' });
    } finally {
      await second.stop();
    }
  });

  it('fails a deploy whose agent never calls back within deploy_callback_timeout', async () => {
    const m = await start({ deployCallbackTimeout: 1 });
    try {
      const res = await fetch(`${m.url}/v1/nodes`, {
        method: 'POST',
        headers: V,
        body: JSON.stringify({ driver: 'fake-hardware', name: 'slow' }),
      });
      const { uuid } = (await res.json()) as { uuid: string };
      const n = m.store.getNode(uuid)!;
      m.store.saveNode({
        ...n,
        provision_state: 'wait call-back',
        target_provision_state: 'active',
        provision_updated_at: isoTime(Date.now() - 5000),
      });
      m.conductor.checkCallbackTimeouts();
      await m.conductor.idle();
      const after = m.store.getNode(uuid)!;
      expect(after.provision_state).toBe('deploy failed');
      expect(after.last_error).toBe(`Timeout reached while waiting for callback for node ${uuid}`);
    } finally {
      await m.stop();
    }
  });
});
