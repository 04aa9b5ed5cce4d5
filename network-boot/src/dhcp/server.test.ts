import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import dhcp, { type DhcpLibPacket } from 'dhcp';
import protocol from 'dhcp/lib/protocol.js';
import { afterEach, describe, expect, it } from 'vitest';
import { bootRequest, ipxeOptions, pxeRomOptions, udhcpcOptions } from './client-packets.ts';
import { LeasePool } from './leases.ts';
import { type DhcpEvent, DhcpServer } from './server.ts';

const MAC = '52:54:00:00:00:01';
// What QEMU's iPXE ROM really sent (fixtures/ipxe-qemu-dhcp.json): the packet that killed unpatched npm dhcp.
const captured = JSON.parse(
  readFileSync(new URL('./fixtures/ipxe-qemu-dhcp.json', import.meta.url), 'utf8'),
) as {
  frames: { note: string; hex: string }[];
};
const ipxeDiscover = Buffer.from(captured.frames[0]!.hex, 'hex');
const ipxeRequest = Buffer.from(captured.frames[1]!.hex, 'hex');
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function clientSocket(): Promise<{
  sock: Socket;
  port: number;
  next: (ms?: number) => Promise<DhcpLibPacket | undefined>;
}> {
  const sock = createSocket('udp4');
  const queue: DhcpLibPacket[] = [];
  const waiters: ((p: DhcpLibPacket) => void)[] = [];
  sock.on('message', (buf) => {
    const p = protocol.parse(buf);
    const w = waiters.shift();
    if (w) w(p);
    else queue.push(p);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
  const next = (ms = 1000) =>
    new Promise<DhcpLibPacket | undefined>((resolve) => {
      const q = queue.shift();
      if (q) return resolve(q);
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        resolve(undefined);
      }, ms);
      const w = (p: DhcpLibPacket) => {
        clearTimeout(t);
        resolve(p);
      };
      waiters.push(w);
    });
  return { sock, port: sock.address().port, next };
}

describe('npm dhcp, as patched by patches/dhcp+0.2.20.patch', () => {
  it('decodes the options iPXE sends (77, 93, 94, 97, 175) and single-byte pads', () => {
    const buf = bootRequest({ mac: MAC, xid: 1, options: ipxeOptions(MAC) });
    // put two pad options (code 0, no length byte) between the message type and the rest
    const cookie = 236 + 4;
    const padded = Buffer.concat([
      buf.subarray(0, cookie + 3),
      Buffer.from([0, 0]),
      buf.subarray(cookie + 3),
    ]);
    const p = protocol.parse(padded);
    expect(p.options[53]).toBe(1);
    expect(p.options[77]).toBe('iPXE');
    expect(p.options[93]).toEqual([0]);
    expect(p.options[94]).toEqual([1, 2, 1]);
    expect((p.options[97] as number[]).length).toBe(17);
    expect((p.options[175] as number[]).slice(0, 3)).toEqual([16, 1, 2]);
    expect(p.options[60]).toBe('PXEClient:Arch:00000:UNDI:002001');
  });

  it('decodes the captured iPXE DISCOVER field by field', () => {
    const p = protocol.parse(ipxeDiscover);
    expect(p.op).toBe(1); // BOOTREQUEST
    expect(p.chaddr).toBe('52-54-00-99-00-01');
    expect(p.options[53]).toBe(1); // DHCPDISCOVER
    expect(p.options[57]).toBe(1472); // max message size
    expect(p.options[93]).toEqual([0]); // x86 BIOS
    expect(p.options[94]).toEqual([1, 2, 1]); // UNDI 2.1
    expect(p.options[60]).toBe('PXEClient:Arch:00000:UNDI:002001');
    expect(p.options[77]).toBe('iPXE');
    expect(p.options[55]).toContain(60); // the request that made config(undefined) throw
    expect((p.options[175] as number[]).slice(0, 7)).toEqual([0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0]); // bus id: PCI virtio-net
    expect((p.options[97] as number[]).length).toBe(17);
  });

  it("answers iPXE's first DISCOVER instead of crashing (option 60 in the request list)", async () => {
    // Unpatched, this packet made config(undefined) throw inside the socket handler: the process died.
    const client = await clientSocket();
    const lib = dhcp.createServer({
      range: ['10.0.0.10', '10.0.0.20'],
      randomIP: false,
      server: '10.0.0.1',
      broadcast: '127.0.0.1',
      clientPort: client.port,
      bootFile: 'http://10.0.0.1/boot.ipxe',
      forceOptions: ['bootFile'],
    });
    const errors: unknown[] = [];
    lib.on('error', (e) => errors.push(e));
    await new Promise<void>((r) => lib._sock.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => lib.close(() => r())));
    client.sock.send(ipxeDiscover, lib._sock.address().port, '127.0.0.1');
    const offer = await client.next();
    expect(errors).toEqual([]);
    expect(offer?.options[53]).toBe(2);
    expect(offer?.xid).toBe(ipxeDiscover.readUInt32BE(4));
    expect(offer?.yiaddr).toBe('10.0.0.10');
    expect(offer?.options[67]).toBe('http://10.0.0.1/boot.ipxe');
  });
});

describe('DhcpServer', () => {
  async function start(extra: Partial<ConstructorParameters<typeof DhcpServer>[0]> = {}) {
    const client = await clientSocket();
    const events: DhcpEvent[] = [];
    const server = new DhcpServer({
      serverAddress: '10.77.0.1',
      netmask: '255.255.255.0',
      broadcast: '127.0.0.1',
      range: ['10.77.0.100', '10.77.0.199'],
      pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.199'] }),
      policy: {
        nextServer: '10.77.0.1',
        scriptUrl: 'http://10.77.0.1:8080/boot.ipxe',
        overrides: { '52:54:00:00:00:09': { ignore: true } },
      },
      clientPort: client.port,
      onEvent: (e) => events.push(e),
      ...extra,
    });
    const addr = await server.listen(0, '127.0.0.1');
    cleanup.push(() => server.close());
    const send = (b: Buffer) => client.sock.send(b, addr.port, '127.0.0.1');
    return { client, events, send };
  }

  it('chainloads iPXE for the NIC ROM, then gives iPXE the script URL and 175.176=1', async () => {
    const { client, send, events } = await start();
    send(bootRequest({ mac: MAC, xid: 1, options: pxeRomOptions(0) }));
    const romOffer = await client.next();
    expect(romOffer?.options[67]).toBe('undionly.kpxe');
    expect(romOffer?.options[66]).toBe('10.77.0.1');
    expect(romOffer?.siaddr).toBe('10.77.0.1');
    expect(romOffer?.options[60]).toBe('PXEClient');
    expect(romOffer?.options[175]).toBeUndefined();

    send(bootRequest({ mac: MAC, xid: 2, options: ipxeOptions(MAC) }));
    const offer = await client.next();
    expect(offer?.options[53]).toBe(2);
    expect(offer?.options[67]).toBe('http://10.77.0.1:8080/boot.ipxe');
    expect(offer?.options[175]).toEqual([176, 1, 1]);
    expect(offer?.yiaddr).toBe(romOffer?.yiaddr);

    send(
      bootRequest({
        mac: MAC,
        xid: 3,
        kind: 'request',
        requestedAddress: offer!.yiaddr,
        serverId: '10.77.0.1',
        options: ipxeOptions(MAC),
      }),
    );
    const ack = await client.next();
    expect(ack?.options[53]).toBe(5);
    expect(ack?.yiaddr).toBe('10.77.0.100');
    expect(ack?.options[54]).toBe('10.77.0.1');
    expect(
      events
        .filter((e) => e.type === 'answered')
        .map((e) => e.type === 'answered' && `${e.message}:${e.answer.client}`),
    ).toEqual(['offer:pxe', 'offer:ipxe', 'ack:ipxe']);
  });

  it('answers the captured iPXE DISCOVER and REQUEST with the script URL and 175.176=1', async () => {
    const { client, send } = await start();
    send(ipxeDiscover);
    const offer = await client.next();
    expect(offer?.options[67]).toBe('http://10.77.0.1:8080/boot.ipxe');
    expect(offer?.options[175]).toEqual([176, 1, 1]);
    send(ipxeRequest); // it names server 10.99.0.1 (where it was captured): not us, so no answer
    expect(await client.next(200)).toBeUndefined();
  });

  it('gives a UEFI PXE ROM the EFI build and a plain client no boot file', async () => {
    const { client, send } = await start();
    send(bootRequest({ mac: '52:54:00:00:00:02', xid: 4, options: pxeRomOptions(7) }));
    expect((await client.next())?.options[67]).toBe('snponly.efi');
    send(bootRequest({ mac: '52:54:00:00:00:03', xid: 5, options: udhcpcOptions() }));
    const plain = await client.next();
    expect(plain?.options[53]).toBe(2);
    expect(plain?.options[67]).toBeUndefined();
    expect(plain?.options[175]).toBeUndefined();
  });

  it('stays silent for an ignored MAC and for a REQUEST meant for another server', async () => {
    const { client, send, events } = await start();
    send(bootRequest({ mac: '52:54:00:00:00:09', xid: 6, options: ipxeOptions('52:54:00:00:00:09') }));
    send(
      bootRequest({
        mac: MAC,
        xid: 7,
        kind: 'request',
        requestedAddress: '10.77.0.100',
        serverId: '10.77.0.2',
        options: ipxeOptions(MAC),
      }),
    );
    expect(await client.next(300)).toBeUndefined();
    expect(events.filter((e) => e.type === 'ignored').map((e) => e.type === 'ignored' && e.reason)).toEqual([
      'override: ignore',
      'client selected 10.77.0.2',
    ]);
  });
});
