/**
 * "What does this client get?" — the one decision both the UDP DHCP server and the sim backend
 * make, so that a simulated NIC ROM walks exactly the path a real one does. Pure: no sockets.
 *
 * A real PXE boot asks twice (ipxe.org/howto/chainloading, dnsmasq `dhcp-userclass=set:ipxe,iPXE`):
 *   1. the NIC's PXE ROM ("PXEClient" vendor class, no user class "iPXE") gets a TFTP file name
 *      that chainloads iPXE (undionly.kpxe for BIOS, an EFI build for UEFI);
 *   2. iPXE itself (user class "iPXE" or an option 175 feature list) gets the HTTP URL of the boot
 *      script, plus 175.176 = 1 so it does not wait for ProxyDHCP.
 * QEMU's NIC ROMs are already iPXE, so they skip step 1. Anything else (the ramdisk's udhcpc, a
 * deployed OS) gets an address and no boot file.
 */
import { type Firmware, firmwareOfArch, IPXE_NO_PXEDHCP, normalizeMac } from './options.ts';

export type ClientKind = 'ipxe' | 'pxe' | 'other';

/** The facts of a DISCOVER/REQUEST the decision looks at (decoded by the server or built by the sim). */
export interface DhcpClientRequest {
  readonly mac: string;
  readonly vendorClassId?: string | undefined;
  readonly userClass?: string | undefined;
  readonly clientArch?: number | undefined;
  /** Raw option 175 bytes, when the client sent any (only iPXE does). */
  readonly ipxeEncap?: readonly number[] | undefined;
}

/** Static per-MAC answers, for labs without a provisioning system (or to exclude a node). */
export interface MacOverride {
  /** Do not answer this MAC at all: its NIC ROM times out and the firmware tries the next device. */
  readonly ignore?: boolean;
  /** The iPXE script URL for this MAC instead of the default one. */
  readonly script?: string;
  /** The TFTP file for this MAC's PXE ROM instead of the iPXE chainload. */
  readonly bootFile?: string;
}

export interface PxePolicy {
  /** TFTP server for PXE ROMs (siaddr, option 66). */
  readonly nextServer: string;
  /** URL iPXE fetches its script from, e.g. Ironic's `http://<http_url>/boot.ipxe`. */
  readonly scriptUrl: string;
  /** The iPXE builds PXE ROMs chainload over TFTP, by firmware. */
  readonly firmwareFile?: Readonly<Record<Firmware, string>>;
  readonly overrides?: Readonly<Record<string, MacOverride>>;
  /** When set, MACs it rejects get no answer (dnsmasq `dhcp-ignore=tag:!known`). */
  readonly known?: (mac: string) => boolean;
}

export const DEFAULT_FIRMWARE_FILES: Readonly<Record<Firmware, string>> = {
  bios: 'undionly.kpxe',
  uefi: 'snponly.efi',
};

export interface BootAnswer {
  readonly kind: 'answer';
  readonly client: ClientKind;
  /** Option 67: a TFTP path for a PXE ROM, a URL for iPXE; absent for plain DHCP clients. */
  readonly bootFile?: string;
  /** siaddr / option 66 for PXE ROMs. */
  readonly nextServer?: string;
  /** Option 60 echoed to PXE clients (PXE 2.1: an offer without it is not a PXE offer). */
  readonly vendorClassId?: 'PXEClient';
  /** Option 175 settings for iPXE. */
  readonly ipxeEncap?: readonly number[];
  readonly firmware: Firmware;
}

export type BootDecision = BootAnswer | { readonly kind: 'ignore'; readonly reason: string };

export function classifyClient(req: DhcpClientRequest): ClientKind {
  if (req.userClass === 'iPXE' || (req.ipxeEncap !== undefined && req.ipxeEncap.length > 0)) return 'ipxe';
  if (req.vendorClassId?.startsWith('PXEClient')) return 'pxe';
  return 'other';
}

export function decideBoot(req: DhcpClientRequest, policy: PxePolicy): BootDecision {
  const mac = normalizeMac(req.mac);
  const override = lookupOverride(policy, mac);
  if (override?.ignore) return { kind: 'ignore', reason: 'override: ignore' };
  if (policy.known !== undefined && !policy.known(mac)) return { kind: 'ignore', reason: 'unknown MAC' };

  const client = classifyClient(req);
  const firmware = firmwareOfArch(req.clientArch);
  switch (client) {
    case 'ipxe':
      return {
        kind: 'answer',
        client,
        firmware,
        bootFile: override?.script ?? policy.scriptUrl,
        ipxeEncap: IPXE_NO_PXEDHCP,
        // iPXE also honours a PXEClient echo; harmless and what dnsmasq sends.
        ...(req.vendorClassId?.startsWith('PXEClient') ? { vendorClassId: 'PXEClient' as const } : {}),
      };
    case 'pxe':
      return {
        kind: 'answer',
        client,
        firmware,
        bootFile: override?.bootFile ?? (policy.firmwareFile ?? DEFAULT_FIRMWARE_FILES)[firmware],
        nextServer: policy.nextServer,
        vendorClassId: 'PXEClient',
      };
    case 'other':
      return { kind: 'answer', client, firmware };
  }
}

function lookupOverride(policy: PxePolicy, mac: string): MacOverride | undefined {
  if (policy.overrides === undefined) return undefined;
  const direct = policy.overrides[mac];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(policy.overrides)) if (normalizeMac(k) === mac) return v;
  return undefined;
}

/** Option 93 as the sim's firmware sends it (RFC 4578: 0 = BIOS, 7 = x64 UEFI). */
export function clientArchFor(firmware: Firmware): number {
  return firmware === 'bios' ? 0 : 7;
}
