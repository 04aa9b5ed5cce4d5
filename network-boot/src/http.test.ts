import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributeRequest, type BootFetchEvent, buildApp, parseRange, startBootHttp } from './http.ts';

const UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
let dir: string;
const events: BootFetchEvent[] = [];
const kernel = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bmlab-http-'));
  await mkdir(join(dir, UUID));
  await mkdir(join(dir, 'pxelinux.cfg'));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${...} syntax
  await writeFile(join(dir, 'boot.ipxe'), '#!ipxe\nchain pxelinux.cfg/${net0/mac:hexhyp}\n');
  await writeFile(join(dir, UUID, 'config'), '#!ipxe\nkernel deploy_kernel\nboot\n');
  await writeFile(join(dir, UUID, 'deploy_kernel'), kernel);
  await symlink(`../${UUID}/config`, join(dir, 'pxelinux.cfg', '52-54-00-00-00-01'));
  await writeFile(join(tmpdir(), 'bmlab-http-outside'), 'no');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('boot root over HTTP (inject)', () => {
  const app = () => buildApp({ root: dir, onFetch: (e) => events.push(e) });

  it('serves boot.ipxe and the per-MAC symlink Ironic writes, reporting who fetched it', async () => {
    const a = app();
    const boot = await a.inject({ url: '/boot.ipxe' });
    expect(boot.statusCode).toBe(200);
    expect(boot.headers['content-type']).toMatch(/^text\/plain/);
    expect(boot.body).toContain('chain pxelinux.cfg/');
    const cfg = await a.inject({ url: '/pxelinux.cfg/52-54-00-00-00-01' });
    expect(cfg.body).toBe('#!ipxe\nkernel deploy_kernel\nboot\n');
    expect(events.at(-1)).toMatchObject({
      method: 'GET',
      path: '/pxelinux.cfg/52-54-00-00-00-01',
      status: 200,
      mac: '52:54:00:00:00:01',
    });
    await a.inject({ url: `/${UUID}/deploy_kernel` });
    expect(events.at(-1)).toMatchObject({ nodeUuid: UUID, bytes: 4096 });
  });

  it('answers HEAD with the size and no body', async () => {
    const r = await app().inject({ method: 'HEAD', url: `/${UUID}/deploy_kernel` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-length']).toBe('4096');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.rawPayload.length).toBe(0);
  });

  it.each([
    ['bytes=0-9', 206, 'bytes 0-9/4096', 0, 10],
    ['bytes=4000-', 206, 'bytes 4000-4095/4096', 4000, 96],
    ['bytes=-16', 206, 'bytes 4080-4095/4096', 4080, 16],
    ['bytes=4090-9999', 206, 'bytes 4090-4095/4096', 4090, 6],
  ])('Range %s -> %i %s', async (range, status, contentRange, start, len) => {
    const r = await app().inject({ url: `/${UUID}/deploy_kernel`, headers: { range } });
    expect(r.statusCode).toBe(status);
    expect(r.headers['content-range']).toBe(contentRange);
    expect(r.rawPayload.toString('hex')).toBe(kernel.subarray(start, start + len).toString('hex'));
  });

  it('416 for a range past the end; whole file for a multi-range request', async () => {
    const past = await app().inject({ url: `/${UUID}/deploy_kernel`, headers: { range: 'bytes=5000-' } });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */4096');
    const multi = await app().inject({ url: `/${UUID}/deploy_kernel`, headers: { range: 'bytes=0-1,5-6' } });
    expect(multi.statusCode).toBe(200);
    expect(multi.rawPayload.length).toBe(4096);
  });

  it('404 for missing files, directories and paths that leave the root', async () => {
    const a = app();
    for (const url of ['/nope', `/${UUID}`, '/../bmlab-http-outside', '/%2e%2e/bmlab-http-outside']) {
      expect((await a.inject({ url })).statusCode, url).toBe(404);
    }
  });
});

describe('boot root over a real socket', () => {
  it('serves through fetch() and reports the remote address', async () => {
    const seen: BootFetchEvent[] = [];
    const srv = await startBootHttp({ root: dir, onFetch: (e) => seen.push(e) });
    try {
      const r = await fetch(`${srv.url}/boot.ipxe?mac=52-54-00-00-00-07`);
      expect(await r.text()).toMatch(/^#!ipxe/);
      expect(seen[0]).toMatchObject({ status: 200, mac: '52:54:00:00:00:07', remote: '127.0.0.1' });
    } finally {
      await srv.close();
    }
  });
});

describe('pure helpers', () => {
  it('parseRange ignores what RFC 9110 lets a server ignore', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('items=0-1', 10)).toBeUndefined();
    expect(parseRange('bytes=5-2', 10)).toBeUndefined();
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
  it('attributes requests to nodes', () => {
    expect(attributeRequest('/pxelinux.cfg/01-52-54-00-00-00-0a', {})).toEqual({ mac: '52:54:00:00:00:0a' });
    expect(attributeRequest(`/${UUID}/config`, {})).toEqual({ nodeUuid: UUID });
    expect(attributeRequest('/boot.ipxe', {})).toEqual({});
  });
});
