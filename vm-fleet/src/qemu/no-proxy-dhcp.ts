/**
 * iPXE's no-proxyDHCP setting for user networking. Under `-netdev user` QEMU's own DHCP server (slirp)
 * answers iPXE at once, but its offer cannot carry iPXE's encapsulated option 175.176 "no-pxedhcp", so
 * iPXE keeps listening for ProxyDHCP offers until its discovery timer gives up: about 3 s of every PXE
 * boot (shared/reference/qemu-netboot.md §2), spent polling the NIC, i.e. CPU time too. On a bridge the
 * lab's DHCP server sends 175.176 = 1 and the same step takes ~0.1 s (§3).
 *
 * Here the NIC is on a QEMU hub with slirp and a stream socket to the lab (`-netdev hubport`, `-netdev
 * stream`): the lab sees slirp's DHCPOFFER to an iPXE client and sends the same offer again with
 * 175.176 = 1 added, as a PXE-aware DHCP server would have sent it. iPXE takes the later offer of equal
 * priority (ipxe `net/udp/dhcp.c` `dhcp_discovery_rx`: "priority >= dhcp->priority"), sees no-pxedhcp
 * and sends its DHCPREQUEST, which slirp acknowledges as usual. Every address and option stays slirp's.
 *
 * Frames on a stream netdev are a 4-byte big-endian length followed by the Ethernet frame.
 */

/** DHCP message types (RFC 2132 §9.6) and the BOOTP fields used here (RFC 2131 figure 1). */
const DHCPDISCOVER = 1;
const DHCPOFFER = 2;
const BOOTP_OPTIONS = 240;
const MAGIC = 0x63825363;
/** iPXE's encapsulated options (ipxe `include/ipxe/dhcp.h`): 175 holds 176 "no-pxedhcp". */
const IPXE_ENCAP = 175;
const IPXE_NO_PXEDHCP = 176;
const USER_CLASS = 77;
const MESSAGE_TYPE = 53;

interface Dhcp {
  /** Offset of the BOOTP payload in the frame. */
  readonly at: number;
  readonly op: number;
  readonly xid: number;
  readonly options: Map<number, Buffer>;
}

/** The DHCP message in an Ethernet/IPv4/UDP frame on ports 67/68, or undefined. */
function parseDhcp(frame: Buffer): Dhcp | undefined {
  if (frame.length < 14 + 20 + 8 + BOOTP_OPTIONS || frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ihl = (frame[14] ?? 0) & 0x0f;
  if (frame[23] !== 17 || ihl < 5) return undefined;
  const udp = 14 + ihl * 4;
  const ports = [frame.readUInt16BE(udp), frame.readUInt16BE(udp + 2)].sort();
  if (ports[0] !== 67 || ports[1] !== 68) return undefined;
  const at = udp + 8;
  if (frame.length < at + BOOTP_OPTIONS || frame.readUInt32BE(at + 236) !== MAGIC) return undefined;
  const options = new Map<number, Buffer>();
  let i = at + BOOTP_OPTIONS;
  while (i < frame.length) {
    const code = frame[i] ?? 255;
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    const len = frame[i + 1] ?? 0;
    options.set(code, frame.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return { at, op: frame[at] ?? 0, xid: frame.readUInt32BE(at + 4), options };
}

function ipChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * `offer` (an Ethernet frame holding a DHCPOFFER) with option 175.176 = 1 added before its end option:
 * IPv4 total length, header checksum and UDP length updated, UDP checksum cleared (optional over IPv4,
 * RFC 768).
 */
export function withNoProxyDhcp(offer: Buffer, dhcp = parseDhcp(offer)): Buffer {
  if (dhcp === undefined) throw new TypeError('not a DHCP frame');
  let end = dhcp.at + BOOTP_OPTIONS;
  while (end < offer.length && offer[end] !== 255) end += offer[end] === 0 ? 1 : 2 + (offer[end + 1] ?? 0);
  const added = Buffer.from([IPXE_ENCAP, 3, IPXE_NO_PXEDHCP, 1, 1]);
  const out = Buffer.concat([offer.subarray(0, end), added, Buffer.from([255])]);
  const ihl = ((out[14] ?? 0) & 0x0f) * 4;
  out.writeUInt16BE(out.length - 14, 16);
  out.writeUInt16BE(0, 24);
  out.writeUInt16BE(ipChecksum(out.subarray(14, 14 + ihl)), 24);
  out.writeUInt16BE(out.length - 14 - ihl, 14 + ihl + 4);
  out.writeUInt16BE(0, 14 + ihl + 6);
  return out;
}

/**
 * Watches the frames of one hub (`onFrame` for each one received) and returns the frames to send back:
 * the amended copy of slirp's offer to an iPXE DHCPDISCOVER (user class "iPXE" or option 175 present).
 * Other DHCP clients (the ramdisk's udhcpc) are left to slirp alone.
 */
export class NoProxyDhcp {
  /** Transaction ids of iPXE discoveries not yet offered to. */
  readonly #pending = new Set<number>();

  onFrame(frame: Buffer): Buffer | undefined {
    const dhcp = parseDhcp(frame);
    if (dhcp === undefined) return undefined;
    const type = dhcp.options.get(MESSAGE_TYPE)?.[0];
    if (dhcp.op === 1 && type === DHCPDISCOVER) {
      const ipxe =
        dhcp.options.get(USER_CLASS)?.toString('latin1') === 'iPXE' || dhcp.options.has(IPXE_ENCAP);
      if (ipxe) this.#pending.add(dhcp.xid);
      return undefined;
    }
    if (dhcp.op === 2 && type === DHCPOFFER && this.#pending.delete(dhcp.xid)) {
      if (dhcp.options.has(IPXE_ENCAP)) return undefined;
      return withNoProxyDhcp(frame, dhcp);
    }
    return undefined;
  }
}

/** Splits a stream netdev's byte stream into frames and frames replies (4-byte big-endian length). */
export class StreamFramer {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: Buffer[] = [];
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32BE(0);
      if (this.#buf.length < 4 + len) break;
      frames.push(this.#buf.subarray(4, 4 + len));
      this.#buf = this.#buf.subarray(4 + len);
    }
    return frames;
  }

  static frame(payload: Buffer): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(payload.length);
    return Buffer.concat([len, payload]);
  }
}
