/**
 * DHCP option facts a PXE/iPXE server decides on, as rows (node-dhcp `lib/options.js` style).
 *
 * - RFC 4578 sec. 2.1: option 93 client system architecture (IANA "Processor Architecture Types").
 * - PXE 2.1 sec. 2.2: option 60 "PXEClient:Arch:xxxxx:UNDI:yyyzzz" from a PXE ROM; the server answers "PXEClient".
 * - RFC 3004: option 77 user class; iPXE sends the bare string "iPXE" (ipxe.org/howto/dhcpd).
 * - iPXE encapsulated option 175: the client lists its features (code, length, value triples);
 *   the server may send settings back, notably 176 "no-pxedhcp" = 1, which stops iPXE from waiting
 *   ~3 s for ProxyDHCP offers (measured: reference/qemu-netboot.md sec. 2).
 */

export const DhcpOption = {
  VendorClassId: 60,
  UserClass: 77,
  ClientArch: 93,
  ClientNdi: 94,
  ClientUuid: 97,
  IpxeEncap: 175,
} as const;

/** RFC 4578 sec. 2.1 / IANA processor architecture types, the ones labs meet. */
export const ClientArch = {
  X86Bios: 0,
  X86Uefi32: 6,
  X64Uefi: 7,
  X64UefiAlt: 9,
  Arm64Uefi: 11,
  X64UefiHttp: 16,
} as const;

export type Firmware = 'bios' | 'uefi';

export function firmwareOfArch(arch: number | undefined): Firmware {
  return arch === undefined || arch === ClientArch.X86Bios ? 'bios' : 'uefi';
}

/** iPXE settings inside option 175 (ipxe `include/ipxe/dhcp.h`, DHCP_EB_*). */
export const IpxeSetting = {
  /** 175.176: skip ProxyDHCP (and PXE boot server) discovery. */
  NoPxeDhcp: 176,
  /** 175.177: bus id; 175.16: PXE extension support; 175.19: HTTP support (features a client announces). */
  BusId: 177,
  FeaturePxeExt: 16,
  FeatureHttp: 19,
} as const;

/** The bytes of option 175 that tell iPXE not to wait for ProxyDHCP: code 176, length 1, value 1. */
export const IPXE_NO_PXEDHCP: readonly number[] = [IpxeSetting.NoPxeDhcp, 1, 1];

/** Splits option 175's encapsulated (code, length, value) triples; a truncated tail is ignored. */
export function parseEncapsulated(bytes: readonly number[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let i = 0;
  while (i + 1 < bytes.length) {
    const code = bytes[i] as number;
    const len = bytes[i + 1] as number;
    if (code === 0) {
      i += 1;
      continue;
    }
    if (code === 255 || i + 2 + len > bytes.length) break;
    out.set(code, bytes.slice(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

/** MACs compare in one spelling: lower case, colon separated (what `${net0/mac}` prints). */
export function normalizeMac(mac: string): string {
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (hex.length !== 12) return mac.toLowerCase();
  return hex.match(/../g)!.join(':');
}
