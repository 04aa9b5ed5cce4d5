import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IronicApiError, IronicClient } from './ironic-client.ts';

/** An Ironic API stand-in that serves nodes whose states the test moves, and logs each request. */
function fakeIronic() {
  const states = new Map<string, string>();
  const requests: string[] = [];
  const node = (uuid: string) => ({
    uuid,
    name: `n-${uuid}`,
    provision_state: states.get(uuid),
    target_provision_state: null,
  });
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Content-Type', 'application/json');
    if (url.pathname === '/v1/nodes') {
      res.end(JSON.stringify({ nodes: [...states.keys()].map(node) }));
      return;
    }
    const id = decodeURIComponent(url.pathname.slice('/v1/nodes/'.length));
    const uuid = states.has(id) ? id : [...states.keys()].find((u) => `n-${u}` === id);
    if (uuid === undefined) {
      res.statusCode = 404;
      res.end(
        JSON.stringify({ error_message: JSON.stringify({ faultstring: `Node ${id} could not be found.` }) }),
      );
      return;
    }
    res.end(JSON.stringify(node(uuid)));
  });
  return { server, states, requests };
}

describe('IronicClient.waitFor', () => {
  const f = fakeIronic();
  let client: IronicClient;
  beforeAll(async () => {
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    client = new IronicClient(`http://127.0.0.1:${(f.server.address() as AddressInfo).port}`);
  });
  afterAll(() => new Promise<void>((r) => (f.server as Server).close(() => r())));

  it('a lone poll reads its node with a GET of it', async () => {
    f.states.set('a', 'available');
    f.requests.length = 0;
    const n = await client.waitFor('a', (x) => x.provision_state === 'available', {
      timeoutMs: 1000,
      pollMs: 10,
      what: 'a',
    });
    expect(n.uuid).toBe('a');
    expect(f.requests).toEqual(['/v1/nodes/a']);
  });

  it('polls of many nodes due together share one list call, and each still sees its own states', async () => {
    f.states.clear();
    for (const u of ['a', 'b', 'c', 'd', 'e', 'f']) f.states.set(u, 'deploying');
    f.requests.length = 0;
    const seen = new Map<string, string[]>();
    const waits = [...f.states.keys()].map((u) =>
      client.waitFor(u === 'f' ? 'n-f' : u, (x) => x.provision_state === 'active', {
        timeoutMs: 5000,
        pollMs: 20,
        what: u,
        onState: (s) => seen.set(u, [...(seen.get(u) ?? []), s]),
      }),
    );
    await new Promise((r) => setTimeout(r, 70));
    for (const u of f.states.keys()) f.states.set(u, 'active');
    const nodes = await Promise.all(waits);
    expect(nodes.map((n) => n.uuid)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    for (const u of f.states.keys()) {
      expect(seen.get(u)?.[0]).toBe('deploying');
      expect(seen.get(u)?.at(-1)).toBe('active');
    }
    // Every read was one list for all six: far fewer requests than six GETs per tick.
    expect(f.requests.every((r) => r === '/v1/nodes?detail=True')).toBe(true);
    expect(f.requests.length).toBeGreaterThanOrEqual(2);
    expect(f.requests.length).toBeLessThanOrEqual(seen.get('a')?.length ?? 0);
  });

  it('a node the list lacks is read on its own, and its 404 reaches its waiter only', async () => {
    f.states.clear();
    f.states.set('a', 'active');
    f.requests.length = 0;
    const opts = { timeoutMs: 1000, pollMs: 10, what: 'x' };
    const [ok, missing] = await Promise.allSettled([
      client.waitFor('a', () => true, opts),
      client.waitFor('ghost', () => true, opts),
    ]);
    expect(ok.status).toBe('fulfilled');
    expect(missing.status).toBe('rejected');
    const err = (missing as PromiseRejectedResult).reason as IronicApiError;
    expect(err).toBeInstanceOf(IronicApiError);
    expect(err.status).toBe(404);
    expect(f.requests).toEqual(['/v1/nodes?detail=True', '/v1/nodes/ghost']);
  });
});
