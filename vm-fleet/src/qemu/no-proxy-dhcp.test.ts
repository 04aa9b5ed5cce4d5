import { describe, expect, it } from 'vitest';
import { NoProxyDhcp, StreamFramer, withNoProxyDhcp } from './no-proxy-dhcp.ts';

const NIC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/** slirp's own MAC for 10.0.2.2 ("52:55:" + the IPv4 address). */
const SLIRP = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];

/** An Ethernet/IPv4/UDP frame holding a BOOTP message with these options (then end, then padding). */
function dhcpFrame(op: 1 | 2, xid: number, options: number[][], pad = 0): Buffer {
  const bootp = Buffer.alloc(240);
  bootp[0] = op;
  bootp[1] = 1;
  bootp[2] = 6;
  bootp.writeUInt32BE(xid, 4);
  if (op === 2) Buffer.from([10, 0, 2, 15]).copy(bootp, 16);
  Buffer.from(NIC).copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  const opts = Buffer.from([...options.flatMap(([code = 0, ...v]) => [code, v.length, ...v]), 255]);
  const payload = Buffer.concat([bootp, opts, Buffer.alloc(pad)]);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(op === 1 ? 68 : 67, 0);
  udp.writeUInt16BE(op === 1 ? 67 : 68, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  udp.writeUInt16BE(0x1234, 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(op === 1 ? [0, 0, 0, 0] : [10, 0, 2, 2]).copy(ip, 12);
  Buffer.from([255, 255, 255, 255]).copy(ip, 16);
  const eth = Buffer.from([...[255, 255, 255, 255, 255, 255], ...(op === 1 ? NIC : SLIRP), 0x08, 0x00]);
  return Buffer.concat([eth, ip, udp, payload]);
}

/** Sum of the IPv4 header's 16-bit words with end-around carry: 0xffff when the checksum is right. */
function headerSum(frame: Buffer): number {
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += frame.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

// iPXE 1.0.0+git-20190125 (Debian's ipxe-qemu) DISCOVER: message type, user class "iPXE", feature list.
const ipxeDiscover = dhcpFrame(1, 0xcafe0001, [
  [53, 1],
  [77, ...Buffer.from('iPXE')],
  [175, 19, 1, 1, 24, 1, 1],
]);
// slirp's offer: type 2, server id, lease, mask, router, DNS, boot file; 64 bytes of vend padding.
const slirpOffer = dhcpFrame(
  2,
  0xcafe0001,
  [
    [53, 2],
    [54, 10, 0, 2, 2],
    [51, 0, 1, 0x51, 0x80],
    [1, 255, 255, 255, 0],
    [3, 10, 0, 2, 2],
    [6, 10, 0, 2, 3],
    [67, ...Buffer.from('http://10.0.2.2:8080/boot.ipxe')],
  ],
  24,
);

describe('withNoProxyDhcp', () => {
  it("adds 175.176 = 1 before the end option and keeps slirp's options, lengths and checksum right", () => {
    const out = withNoProxyDhcp(slirpOffer);
    const optsAt = 14 + 20 + 8 + 240;
    const opts = out.subarray(optsAt);
    expect(opts.subarray(-6).toString('hex')).toBe('af03b00101ff');
    expect(opts.subarray(0, -6).toString('hex')).toBe(
      slirpOffer.subarray(optsAt, optsAt + opts.length - 6).toString('hex'),
    );
    expect(out.readUInt16BE(16)).toBe(out.length - 14); // IPv4 total length
    expect(headerSum(out)).toBe(0xffff);
    expect(out.readUInt16BE(38)).toBe(out.length - 34); // UDP length
    expect(out.readUInt16BE(40)).toBe(0); // UDP checksum: none
    expect(out.subarray(0, 14).toString('hex')).toBe(slirpOffer.subarray(0, 14).toString('hex'));
  });

  it('refuses a frame that is not DHCP', () => {
    expect(() => withNoProxyDhcp(Buffer.alloc(60))).toThrow(TypeError);
  });
});

describe('NoProxyDhcp', () => {
  it("amends slirp's offer to an iPXE discovery, once", () => {
    const np = new NoProxyDhcp();
    expect(np.onFrame(ipxeDiscover)).toBeUndefined();
    const reply = np.onFrame(slirpOffer);
    expect(reply?.toString('hex')).toBe(withNoProxyDhcp(slirpOffer).toString('hex'));
    expect(np.onFrame(slirpOffer)).toBeUndefined();
  });

  it("leaves other clients' offers (the ramdisk's udhcpc) and unrelated transactions alone", () => {
    const np = new NoProxyDhcp();
    np.onFrame(dhcpFrame(1, 0xcafe0001, [[53, 1]]));
    expect(np.onFrame(slirpOffer)).toBeUndefined();
    np.onFrame(ipxeDiscover);
    expect(np.onFrame(dhcpFrame(2, 0xbeef, [[53, 2]]))).toBeUndefined();
  });

  it('recognises iPXE by option 175 alone', () => {
    const np = new NoProxyDhcp();
    np.onFrame(
      dhcpFrame(1, 0xcafe0001, [
        [53, 1],
        [175, 19, 1, 1],
      ]),
    );
    expect(np.onFrame(slirpOffer)).toBeDefined();
  });
});

describe('StreamFramer', () => {
  it('splits length-prefixed frames across chunk boundaries and frames replies', () => {
    const f = new StreamFramer();
    const wire = Buffer.concat([
      StreamFramer.frame(Buffer.from('abc')),
      StreamFramer.frame(Buffer.from('de')),
    ]);
    expect(f.push(wire.subarray(0, 5)).map(String)).toEqual([]);
    expect(f.push(wire.subarray(5, 9)).map(String)).toEqual(['abc']);
    expect(f.push(wire.subarray(9)).map(String)).toEqual(['de']);
    expect(StreamFramer.frame(Buffer.from('abc')).toString('hex')).toBe('00000003616263');
  });
});
