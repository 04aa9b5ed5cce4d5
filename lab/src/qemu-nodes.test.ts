/**
 * The guest protocol on the lab's boot server, without QEMU: what the agent ramdisk's busybox wget
 * sends (a form-encoded POST of its report, GETs of /relay and of an image token) reaches the
 * right node's RelayHost, and the boot root still serves its files on the same port.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GuestReport, RelayHost } from '../../agent/src/index.ts';
import { GuestRelays, RELAY_IMAGE_PATH, startLabBootHttp } from './qemu-nodes.ts';

const mac = '52:54:00:00:00:07';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('the lab boot server with the guest protocol', () => {
  it('routes the ramdisk report, relay polls and image fetches; boot files on the same port', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bmlab-guest-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await writeFile(join(root, 'boot.ipxe'), '#!ipxe\n');
    const guests = new GuestRelays();
    const http = await startLabBootHttp(root, guests, { port: 0 });
    cleanups.push(http.close);

    const ups: [string, GuestReport][] = [];
    guests.onAgentUp = (m, r) => ups.push([m, r]);
    const q = `role=agent&id=n7&mac=${mac.toUpperCase()}&ip=10.0.2.15&uptime=3.2&event=up`;
    const res = await fetch(`${http.url}/phonehome?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'cmdline=console=ttyS0 ipa-api-url=http://127.0.0.1:6385\ncpu_count=2\nnic=eth0 52:54:00:00:00:07 1 10.0.2.15\n',
    });
    expect(res.status).toBe(200);
    expect(ups.map(([m]) => m)).toEqual([mac]);
    expect(ups[0]?.[1]).toMatchObject({ cmdline: 'console=ttyS0 ipa-api-url=http://127.0.0.1:6385' });
    expect(ups[0]?.[1].cpu.count).toBe(2);

    // Nothing queued: 204, as the relay loop expects; a queued write: its command, then its bytes.
    expect((await fetch(`${http.url}/relay?mac=${mac}`)).status).toBe(204);
    const host = new RelayHost({
      spec: { name: 'n7', cpus: 2, memoryMiB: 512, arch: 'x86_64', nics: [{ mac }], disks: [] },
      report: ups[0]?.[1] as GuestReport,
      imageBaseUrl: `http://10.0.2.2:1${RELAY_IMAGE_PATH}`,
    });
    guests.bind(mac, host);
    const image = Buffer.from('a whole-disk image');
    async function* data() {
      yield image;
    }
    const written = host.writeImage('/dev/vda', data());
    const cmd = await (await fetch(`${http.url}/relay?mac=${mac}`)).text();
    const token = /^write http:\/\/10\.0\.2\.2:1\/relay-image\/(\S+)\n$/.exec(cmd)?.[1];
    expect(token).toBeDefined();
    const got = Buffer.from(await (await fetch(`${http.url}${RELAY_IMAGE_PATH}/${token}`)).arrayBuffer());
    expect(got.equals(image)).toBe(true);
    expect((await fetch(`${http.url}${RELAY_IMAGE_PATH}/${token}`)).status).toBe(404); // once only
    await fetch(`${http.url}/phonehome?role=agent&mac=${mac}&event=written&rc=0`);
    expect(await written).toBe(image.length);

    expect(await (await fetch(`${http.url}/boot.ipxe`)).text()).toBe('#!ipxe\n');
  });
});
