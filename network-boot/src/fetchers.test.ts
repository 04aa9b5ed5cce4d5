import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryFetcher, type FetchRecord, networkFetcher } from './fetchers.ts';
import { type BootFetchEvent, startBootHttp } from './http.ts';
import { defaultSettings, parseKernelArgs, runIpxe } from './ipxe/script.ts';
import { writeIronicBootFiles } from './ironic-layout.ts';
import { TftpServer } from './tftp/server.ts';

const UUID = '6f6b0bde-7c43-4d6e-9bb5-0c8b0c0fe001';
const MAC = '52:54:00:00:00:01';
let root: string;
let tftpRoot: string;
let http: Awaited<ReturnType<typeof startBootHttp>>;
let tftp: TftpServer;
let tftpPort: number;
const served: BootFetchEvent[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bmlab-fetch-'));
  tftpRoot = await mkdtemp(join(tmpdir(), 'bmlab-fetch-tftp-'));
  await writeFile(join(tftpRoot, 'undionly.kpxe'), Buffer.alloc(70_000, 1));
  http = await startBootHttp({ root, onFetch: (e) => served.push(e) });
  await writeIronicBootFiles(
    root,
    { uuid: UUID, macs: [MAC], httpUrl: http.url, apiUrl: 'http://127.0.0.1:6385' },
    { kernel: Buffer.alloc(4096) },
  );
  tftp = new TftpServer({ root: tftpRoot });
  tftpPort = (await tftp.listen(0, '127.0.0.1')).port;
});
afterAll(async () => {
  await http.close();
  await tftp.close();
  await rm(root, { recursive: true, force: true });
  await rm(tftpRoot, { recursive: true, force: true });
});

describe.each([
  ['real HTTP', () => networkFetcher({ tftpPort })],
  ['direct reads', () => directoryFetcher({ http: [{ urlPrefix: `${http.url}/`, dir: root }], tftpRoot })],
])('the Ironic iPXE path through %s', (_name, make) => {
  it('reaches the deploy kernel with ipa-api-url and BOOTIF', async () => {
    const before = served.length;
    const r = await runIpxe(`${http.url}/boot.ipxe`, {
      settings: defaultSettings({ macs: [MAC] }),
      fetcher: make(),
    });
    expect(r.kind).toBe('boot');
    if (r.kind !== 'boot') return;
    expect(r.kernel.size).toBe(4096);
    expect(parseKernelArgs(r.kernel.args)).toMatchObject({
      'ipa-api-url': 'http://127.0.0.1:6385',
      BOOTIF: MAC,
    });
    if (_name === 'real HTTP') {
      expect(served.slice(before).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
        'GET /boot.ipxe 200',
        'GET /pxelinux.cfg/52-54-00-00-00-01 200',
        `HEAD /${UUID}/deploy_kernel 200`,
        `HEAD /${UUID}/deploy_ramdisk 200`,
      ]);
    }
  });

  it('fetches the iPXE build a PXE ROM chainloads over TFTP', async () => {
    const records: FetchRecord[] = [];
    const f =
      _name === 'real HTTP'
        ? networkFetcher({ tftpPort, onFetch: (x) => records.push(x) })
        : directoryFetcher({ http: [], tftpRoot, onFetch: (x) => records.push(x) });
    expect(await f.image(`tftp://127.0.0.1:${tftpPort}/undionly.kpxe`)).toEqual({ ok: true, value: 70_000 });
    expect((await f.image(`tftp://127.0.0.1:${tftpPort}/missing.efi`)).ok).toBe(false);
    expect(records.map((x) => x.ok)).toEqual([true, false]);
  });

  it('reports a missing script as a failed fetch', async () => {
    const r = await make().script(`${http.url}/nope.ipxe`);
    expect(r.ok).toBe(false);
  });
});
