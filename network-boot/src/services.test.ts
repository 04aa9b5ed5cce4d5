import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DhcpLibPacket } from 'dhcp';
import protocol from 'dhcp/lib/protocol.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootRequest, ipxeOptions, pxeRomOptions } from './dhcp/client-packets.ts';
import { networkFetcher } from './fetchers.ts';
import { defaultSettings, parseKernelArgs, runIpxe } from './ipxe/script.ts';
import { writeIronicBootFiles } from './ironic-layout.ts';
import { type NetworkBoot, type NetworkBootEvent, startNetworkBoot } from './services.ts';
import { tftpGet } from './tftp/client.ts';

const UUID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const MAC = '52:54:00:00:00:01';
let dir: string;
let client: ReturnType<typeof createSocket>;
let nb: NetworkBoot;
const events: NetworkBootEvent[] = [];
const replies: DhcpLibPacket[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bmlab-nb-'));
  await writeFile(join(dir, 'undionly.kpxe'), Buffer.alloc(70_000, 0x55));
  client = createSocket('udp4');
  client.on('message', (m) => replies.push(protocol.parse(m)));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  nb = await startNetworkBoot({
    host: '127.0.0.1',
    httpRoot: join(dir, 'http'),
    tftpRoot: dir,
    tftpPort: 0,
    dhcp: {
      port: 0,
      bindHost: '127.0.0.1',
      netmask: '255.255.255.0',
      broadcast: '127.0.0.1',
      range: ['10.77.0.100', '10.77.0.199'],
      clientPort: client.address().port,
    },
    onEvent: (e) => events.push(e),
  });
  await writeIronicBootFiles(join(dir, 'http'), {
    uuid: UUID,
    macs: [MAC],
    httpUrl: nb.httpUrl,
    apiUrl: 'http://127.0.0.1:6385',
  });
});
afterAll(async () => {
  await nb.close();
  client.close();
  await rm(dir, { recursive: true, force: true });
});

async function exchange(pkt: Buffer): Promise<DhcpLibPacket> {
  const n = replies.length;
  client.send(pkt, nb.dhcpPort!, '127.0.0.1');
  for (let i = 0; i < 100 && replies.length === n; i++) await new Promise((r) => setTimeout(r, 10));
  const r = replies[n];
  if (!r) throw new Error('no DHCP reply');
  return r;
}

describe('a PXE boot over the wire, step by step as a NIC ROM and iPXE do it', () => {
  it('DHCP (PXE ROM) -> TFTP undionly.kpxe -> DHCP (iPXE) -> HTTP boot.ipxe -> config -> kernel args', async () => {
    const romOffer = await exchange(bootRequest({ mac: MAC, xid: 1, options: pxeRomOptions(0) }));
    expect(romOffer.options[67]).toBe('undionly.kpxe');
    const ipxe = await tftpGet('127.0.0.1', nb.tftpPort!, romOffer.options[67] as string, { blksize: 1428 });
    expect(ipxe.length).toBe(70_000);

    const offer = await exchange(bootRequest({ mac: MAC, xid: 2, options: ipxeOptions(MAC) }));
    expect(offer.options[175]).toEqual([176, 1, 1]);
    const ack = await exchange(
      bootRequest({
        mac: MAC,
        xid: 3,
        kind: 'request',
        requestedAddress: offer.yiaddr,
        serverId: '127.0.0.1',
        options: ipxeOptions(MAC),
      }),
    );
    expect(ack.options[53]).toBe(5);

    const r = await runIpxe(ack.options[67] as string, {
      settings: defaultSettings({ macs: [MAC], ip: ack.yiaddr }),
      fetcher: networkFetcher(),
    });
    expect(r.kind).toBe('boot');
    expect(r.kind === 'boot' && parseKernelArgs(r.kernel.args)).toMatchObject({
      'ipa-api-url': 'http://127.0.0.1:6385',
      BOOTIF: MAC,
    });

    // The final TFTP ACK races with the next DHCP packet (two sockets), so 'complete' is checked apart.
    expect(events).toContainEqual(
      expect.objectContaining({ service: 'tftp', type: 'complete', file: 'undionly.kpxe', bytes: 70_000 }),
    );
    const order = events.filter((e) => !(e.service === 'tftp' && e.type === 'complete'));
    expect(order.map((e) => `${e.service}:${'type' in e ? e.type : e.method}`)).toEqual([
      'dhcp:received',
      'dhcp:answered',
      'tftp:request',
      'dhcp:received',
      'dhcp:answered',
      'dhcp:received',
      'dhcp:answered',
      'http:GET',
      'http:GET',
      'http:HEAD',
      'http:HEAD',
    ]);
  });
});
