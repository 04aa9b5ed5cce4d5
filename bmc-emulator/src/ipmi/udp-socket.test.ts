import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Peer } from './bmc.ts';
import { bindUdp, type DatagramHandler, type UdpKind, type UdpSocket, udpKind } from './udp-socket.ts';

const open: (UdpSocket | Socket)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    if ('kind' in s) await s.close();
    else s.close();
  }
});

async function bound(kind: UdpKind, handler: DatagramHandler, address = '127.0.0.1', port = 0) {
  const s = await bindUdp(address, port, handler, kind);
  open.push(s);
  return s;
}

/** A client socket that collects what it is sent. */
async function client(family: 'udp4' | 'udp6' = 'udp4') {
  const s = createSocket(family);
  open.push(s);
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => s.bind(0, family === 'udp4' ? '127.0.0.1' : '::1', resolve));
  return { s, got, port: s.address().port };
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const hasIpv6Loopback = Object.values(networkInterfaces())
  .flat()
  .some((i) => i?.address === '::1');

describe('the UDP implementation bmlab picks', () => {
  it('is the addon `npm ci` builds, unless BMLAB_UDP says otherwise', () => {
    // On the machines bmlab supports the addon builds; this fails when the build broke.
    expect(udpKind({})).toBe('native');
    expect(udpKind({ BMLAB_UDP: 'dgram' })).toBe('dgram');
    expect(udpKind({ BMLAB_UDP: 'native' })).toBe('native');
    expect(() => udpKind({ BMLAB_UDP: 'fast' })).toThrow(/BMLAB_UDP: "fast" is neither native nor dgram/);
  });
});

describe.each(['native', 'dgram'] as const)('%s UDP sockets', (kind) => {
  it('answer each datagram to its own sender, through a burst from many senders', async () => {
    const seen: Peer[] = [];
    const server = await bound(kind, (p, from) => {
      seen.push(from);
      return Buffer.concat([Buffer.from('re:'), p]);
    });
    expect(server.kind).toBe(kind);
    expect(server.address).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    const clients = await Promise.all(Array.from({ length: 8 }, () => client()));
    // 8 × 12 datagrams back to back: more than one of the addon's batches (up to 32), and within
    // the default receive buffer.
    for (let i = 0; i < 12; i++) {
      for (const [n, c] of clients.entries()) c.s.send(Buffer.from(`${n}:${i}`), server.port, '127.0.0.1');
    }
    await until(() => clients.every((c) => c.got.length === 12));
    for (const [n, c] of clients.entries()) {
      expect(c.got.map(String)).toEqual(Array.from({ length: 12 }, (_, i) => `re:${n}:${i}`));
    }
    expect(new Set(seen.map((p) => `${p.address}:${p.port}`))).toEqual(
      new Set(clients.map((c) => `127.0.0.1:${c.port}`)),
    );
  });

  it('send on their own (delayed replies, Serial-over-LAN output)', async () => {
    const server = await bound(kind, () => undefined);
    const c = await client();
    server.sendTo(Buffer.from('unprompted'), c.port, '127.0.0.1');
    await until(() => c.got.length === 1);
    expect(String(c.got[0])).toBe('unprompted');
  });

  it('keep serving when a handler throws', async () => {
    const server = await bound(kind, (p) => {
      if (String(p) === 'boom') throw new Error('boom');
      return p;
    });
    const c = await client();
    c.s.send(Buffer.from('boom'), server.port, '127.0.0.1');
    c.s.send(Buffer.from('after'), server.port, '127.0.0.1');
    await until(() => c.got.length === 1);
    expect(String(c.got[0])).toBe('after');
  });

  it('free their port as soon as they are closed, and refuse a port in use by name', async () => {
    const first = await bound(kind, (p) => p);
    const port = first.port;
    await expect(bindUdp('127.0.0.1', port, (p) => p, kind)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await first.close();
    const again = await bound(kind, (p) => p, '127.0.0.1', port);
    expect(again.port).toBe(port);
  });

  it('take a host name as the bind address', async () => {
    const server = await bound(kind, (p) => p, 'localhost');
    expect(server.address).toBe('127.0.0.1');
  });

  it.skipIf(!hasIpv6Loopback)('serve IPv6', async () => {
    let from: Peer | undefined;
    const server = await bound(
      kind,
      (p, f) => {
        from = f;
        return p;
      },
      '::1',
    );
    const c = await client('udp6');
    c.s.send(Buffer.from('six'), server.port, '::1');
    await until(() => c.got.length === 1);
    expect(from).toMatchObject({ address: '::1', port: c.port });
  });
});

describe('native UDP sockets', () => {
  it('send a reply longer than a batch slot on its own', async () => {
    const server = await bound('native', (p) => Buffer.concat([p, Buffer.alloc(1_500, 7)]));
    const c = await client();
    c.s.send(Buffer.from('big'), server.port, '127.0.0.1');
    await until(() => c.got.length === 1);
    expect(c.got[0]?.length).toBe(1_503);
    expect(String(c.got[0]?.subarray(0, 3))).toBe('big');
  });

  it('drop a datagram longer than the largest a BMC takes (1,024 bytes), and take the next', async () => {
    const lengths: number[] = [];
    const server = await bound('native', (p) => {
      lengths.push(p.length);
      return undefined;
    });
    const c = await client();
    c.s.send(Buffer.alloc(1_025, 1), server.port, '127.0.0.1');
    c.s.send(Buffer.alloc(1_024, 2), server.port, '127.0.0.1');
    await until(() => lengths.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(lengths).toEqual([1_024]);
  });
});
