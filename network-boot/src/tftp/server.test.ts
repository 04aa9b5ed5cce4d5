import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../common/src/index.ts';
import { decodeTftp, encodeTftp } from './packet.ts';
import { negotiate, type TftpEvent, TftpServer } from './server.ts';

const hasCurlTftp = await execa('curl', ['--version']).then(
  (r) => /\btftp\b/.test(r.stdout),
  () => false,
);

let dir: string;
let root: string;
let server: TftpServer;
let port: number;
const events: TftpEvent[] = [];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const rnd = seededRandom(69);
const blob = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
const files: Record<string, Buffer> = {
  'undionly.kpxe': blob(70_001),
  'exact.bin': blob(512 * 4), // a multiple of 512: the transfer ends with an empty DATA
  'empty.bin': Buffer.alloc(0),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bmlab-tftp-'));
  root = join(dir, 'root');
  await mkdir(join(root, 'pxelinux.cfg'), { recursive: true });
  await mkdir(join(root, 'node-1'));
  for (const [name, data] of Object.entries(files)) await writeFile(join(root, name), data);
  await writeFile(join(root, 'node-1', 'config'), '#!ipxe\nboot\n');
  await symlink('../node-1/config', join(root, 'pxelinux.cfg', '52-54-00-00-00-01'));
  await writeFile(join(dir, 'secret'), 'outside the root');
  server = new TftpServer({ root, timeoutMs: 200, retries: 3, onEvent: (e) => events.push(e) });
  port = (await server.listen(0, '127.0.0.1')).port;
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function curl(path: string, extra: string[] = []) {
  const out = join(dir, `out-${Math.floor(rnd() * 1e9)}`);
  const r = await execa(
    'curl',
    ['-sS', '--max-time', '10', ...extra, '-o', out, `tftp://127.0.0.1:${port}/${path}`],
    { reject: false },
  );
  const body = r.exitCode === 0 ? await readFile(out) : undefined;
  return { code: r.exitCode, body, stderr: r.stderr };
}

describe.skipIf(!hasCurlTftp)('TftpServer with curl as the client', () => {
  it.each([
    ['default options (curl sends blksize/tsize)', 'undionly.kpxe', []],
    ['blksize 1428 (RFC 2348)', 'undionly.kpxe', ['--tftp-blksize', '1428']],
    ['no options at all (plain RFC 1350)', 'undionly.kpxe', ['--tftp-no-options']],
    ['a file that is a multiple of 512 bytes', 'exact.bin', ['--tftp-no-options']],
    // curl 7.88 fails an option-negotiated empty download with "getpeername() failed" against
    // tftpd-hpa too, so the empty file is fetched without options.
    ['an empty file', 'empty.bin', ['--tftp-no-options']],
  ])('%s', async (_name, file, extra) => {
    const r = await curl(file, extra);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sha(r.body!)).toBe(sha(files[file]!));
  });

  it("follows Ironic's pxelinux.cfg/<mac> symlink", async () => {
    const r = await curl('pxelinux.cfg/52-54-00-00-00-01');
    expect(r.body?.toString()).toBe('#!ipxe\nboot\n');
  });

  it('answers file-not-found and refuses to leave the root', async () => {
    expect((await curl('missing.efi')).code).toBe(68); // curl: TFTP file not found
    const outside = await curl('../secret', ['--path-as-is']);
    expect(outside.code).not.toBe(0);
    expect(
      events.some(
        (e) => e.type === 'failed' && e.file === '../secret' && e.reason === 'outside the TFTP root',
      ),
    ).toBe(true);
  });

  it('reports completed transfers with their size', () => {
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'complete', file: 'undionly.kpxe', bytes: 70_001 }),
    );
  });
});

describe('TftpServer protocol details (raw client)', () => {
  it('negotiates only known options and clamps blksize', () => {
    expect(
      negotiate(
        [
          ['blksize', '70000'],
          ['tsize', '0'],
          ['windowsize', '4'],
          ['timeout', '0'],
        ],
        99,
        { maxBlksize: 1468 },
      ),
    ).toEqual({
      blksize: 1468,
      timeoutMs: undefined,
      oack: [
        ['blksize', '1468'],
        ['tsize', '99'],
      ],
    });
  });

  it('retransmits an unacknowledged block and answers a foreign TID with error 5', async () => {
    const client = createSocket('udp4');
    const stranger = createSocket('udp4');
    await Promise.all(
      [client, stranger].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))),
    );
    const got: { p: ReturnType<typeof decodeTftp>; port: number }[] = [];
    client.on('message', (m, ri) => got.push({ p: decodeTftp(m), port: ri.port }));
    const strangerGot: ReturnType<typeof decodeTftp>[] = [];
    stranger.on('message', (m) => strangerGot.push(decodeTftp(m)));
    client.send(
      encodeTftp({ op: 'rrq', filename: 'exact.bin', mode: 'octet', options: [['blksize', '1024']] }),
      port,
      '127.0.0.1',
    );
    // OACK, then a retransmission every 200 ms while it stays unacknowledged
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(new Set(got.map((g) => g.p.op))).toEqual(new Set(['oack']));
    const tid = got[0]!.port;
    stranger.send(encodeTftp({ op: 'ack', block: 0 }), tid, '127.0.0.1');
    client.send(encodeTftp({ op: 'ack', block: 0 }), tid, '127.0.0.1');
    client.send(encodeTftp({ op: 'ack', block: 0 }), tid, '127.0.0.1'); // duplicate: must not resend DATA 1 twice
    await new Promise((r) => setTimeout(r, 100));
    expect(strangerGot).toEqual([{ op: 'error', code: 5, message: 'unknown transfer ID' }]);
    const data = got.filter((g) => g.p.op === 'data');
    // DATA 1 once per ACK 0 received in time: the duplicate ACK must not produce DATA 2
    expect(new Set(data.map((g) => g.p.op === 'data' && g.p.block))).toEqual(new Set([1]));
    expect(data[0]?.p.op === 'data' && data[0].p.data.length).toBe(1024);
    client.send(encodeTftp({ op: 'error', code: 0, message: 'bye' }), tid, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    stranger.close();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'failed', file: 'exact.bin', reason: 'client error 0: bye' }),
    );
  });

  it('refuses writes', async () => {
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const reply = new Promise<ReturnType<typeof decodeTftp>>((r) =>
      client.once('message', (m) => r(decodeTftp(m))),
    );
    client.send(encodeTftp({ op: 'wrq', filename: 'x', mode: 'octet', options: [] }), port, '127.0.0.1');
    expect(await reply).toEqual({ op: 'error', code: 2, message: 'read-only server' });
    client.close();
  });
});
