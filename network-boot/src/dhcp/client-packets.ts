/**
 * BOOTREQUESTs shaped the way real boot clients send them, built byte by byte (independent of npm
 * dhcp's encoder) so tests feed the server what a NIC ROM, iPXE or the ramdisk's udhcpc put on the
 * wire. Option lists follow iPXE's `src/net/udp/dhcp.c` (dhcp_request_options_data) and the PXE 2.1
 * spec (sec. 2.2.1); they are reconstructions, not captures.
 */

export type RequestKind = 'discover' | 'request';

export interface ClientPacketInput {
  readonly mac: string;
  readonly xid: number;
  readonly kind?: RequestKind;
  /** For REQUEST: option 50 and option 54. */
  readonly requestedAddress?: string;
  readonly serverId?: string;
  /** Raw options, in wire order: [code, bytes]. */
  readonly options?: readonly (readonly [number, readonly number[]])[];
}

const ascii = (s: string): number[] => [...Buffer.from(s, 'ascii')];
const ip = (s: string): number[] => s.split('.').map(Number);
const macBytes = (mac: string): number[] => mac.split(/[:-]/).map((h) => Number.parseInt(h, 16));

/** RFC 2131 fig. 1 fixed header, the magic cookie, the options and an end option, padded to 300 bytes. */
export function bootRequest(input: ClientPacketInput): Buffer {
  const head = Buffer.alloc(236);
  head.writeUInt8(1, 0); // op BOOTREQUEST
  head.writeUInt8(1, 1); // htype Ethernet
  head.writeUInt8(6, 2); // hlen
  head.writeUInt32BE(input.xid >>> 0, 4);
  head.writeUInt16BE(0x8000, 10); // flags: broadcast (a client without an address)
  Buffer.from(macBytes(input.mac)).copy(head, 28); // chaddr
  const opts: number[] = [0x63, 0x82, 0x53, 0x63];
  const msgType = input.kind === 'request' ? 3 : 1;
  opts.push(53, 1, msgType);
  if (input.requestedAddress) opts.push(50, 4, ...ip(input.requestedAddress));
  if (input.serverId) opts.push(54, 4, ...ip(input.serverId));
  for (const [code, bytes] of input.options ?? []) opts.push(code, bytes.length, ...bytes);
  opts.push(255);
  const out = Buffer.concat([head, Buffer.from(opts)]);
  return out.length >= 300 ? out : Buffer.concat([out, Buffer.alloc(300 - out.length)]);
}

const UUID = [0x8b, 0x1e, 0x3a, 0x42, 0x9c, 0x11, 0x4d, 0x0e, 0xa1, 0x5f, 0x52, 0x54, 0x00, 0x00, 0x00, 0x01];

/** iPXE's DISCOVER/REQUEST: user class "iPXE", the 175 feature list, and a request list with 60. */
export function ipxeOptions(mac: string): [number, number[]][] {
  return [
    [57, [0x05, 0xc0]], // max message size 1472
    [93, [0x00, 0x00]], // client arch: x86 BIOS
    [94, [0x01, 0x02, 0x01]], // NDI: UNDI 2.1
    [60, ascii('PXEClient:Arch:00000:UNDI:002001')],
    [77, ascii('iPXE')],
    // parameter request list: note 60 (client-only in npm dhcp: the crash) and 128-135/175/203
    [55, [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203]],
    // 175: features — PXE ext (16), HTTP (19), iSCSI (17), TFTP (21), DNS (23), bzImage (24), bus id 177
    [175, [16, 1, 2, 19, 1, 1, 17, 1, 1, 21, 1, 1, 23, 1, 1, 24, 1, 1, 177, 5, 1, 0x1a, 0xf4, 0x10, 0x00]],
    [61, [0x01, ...macBytes(mac)]],
    [97, [0x00, ...UUID]],
  ];
}

/** A legacy PXE 2.1 ROM's DISCOVER: PXEClient vendor class, arch, NDI, UUID, no user class. */
export function pxeRomOptions(arch = 0): [number, number[]][] {
  return [
    [57, [0x04, 0xec]], // 1260
    [93, [arch >> 8, arch & 0xff]],
    [94, [0x01, 0x02, 0x01]],
    [97, [0x00, ...UUID]],
    [55, [1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135]],
    [60, ascii(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`)],
  ];
}

/** busybox udhcpc in the ramdisk: a plain DHCP client. */
export function udhcpcOptions(): [number, number[]][] {
  return [
    [57, [0x02, 0x40]],
    [60, ascii('udhcp 1.35.0')],
    [55, [1, 3, 6, 12, 15, 28, 42]],
  ];
}
