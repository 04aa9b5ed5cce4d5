/**
 * How long each boot phase takes in the sim. Defaults follow what was measured with QEMU/iPXE on
 * this kind of machine (reference/qemu-netboot.md sec. 2-5) plus a server-class POST; `timeScale`
 * shrinks all of them (0.01 in CI) and a seed makes the jitter repeatable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '../../../common/src/index.ts';

export interface SimTimings {
  /** Power-on self test, until the firmware picks a boot device. */
  readonly postMs: number;
  /** iPXE's "Press Ctrl-B for the iPXE command line..." wait. */
  readonly ipxeBannerMs: number;
  /** DHCP when the offer carries 175.176 no-pxedhcp (or for a plain PXE ROM). */
  readonly dhcpMs: number;
  /** iPXE's extra wait for ProxyDHCP offers when the offer lacks 175.176 (measured ~3.07 s). */
  readonly proxyDhcpWaitMs: number;
  /** How long a NIC ROM waits for any DHCP offer before giving up. */
  readonly dhcpTimeoutMs: number;
  /** TFTP of the iPXE build by a PXE ROM. */
  readonly tftpMs: number;
  /** One HTTP round trip for a script. */
  readonly httpRequestMs: number;
  /** Kernel/initrd download speed, bytes per second (slirp measured ~100 MB/s). */
  readonly httpBytesPerSecond: number;
  /** From `boot` to the kernel's first console line (decompression). */
  readonly kernelStartMs: number;
  /** From the first kernel line to the ramdisk's userspace (agent start). */
  readonly ramdiskBootMs: number;
  /** Bootloader on a deployed disk (SYSLINUX measured ~0.1 s). */
  readonly diskBootloaderMs: number;
  /** From the bootloader to the deployed OS announcing itself (measured ~1.8 s). */
  readonly diskOsBootMs: number;
  /** From the ACPI power button to the guest powering off (busybox acpid measured ~40 ms). */
  readonly acpiShutdownMs: number;
  /** SeaBIOS retries the boot order this long after "No bootable device". */
  readonly noBootRetryMs: number;
  /** Relative jitter applied to every phase, e.g. 0.1 = ±10 %. */
  readonly jitter: number;
}

export const DEFAULT_TIMINGS: SimTimings = {
  postMs: 5_000,
  ipxeBannerMs: 2_000,
  dhcpMs: 100,
  proxyDhcpWaitMs: 3_000,
  dhcpTimeoutMs: 12_000,
  tftpMs: 200,
  httpRequestMs: 10,
  httpBytesPerSecond: 100e6,
  kernelStartMs: 700,
  ramdiskBootMs: 1_500,
  diskBootloaderMs: 120,
  diskOsBootMs: 1_800,
  acpiShutdownMs: 40,
  noBootRetryMs: 60_000,
  jitter: 0.1,
};

/** Turns nominal phase lengths into scaled, jittered, abortable waits. */
export class SimClock {
  readonly #random: () => number;
  constructor(
    readonly timings: SimTimings,
    readonly timeScale: number,
    seed: number,
  ) {
    this.#random = seededRandom(seed);
  }

  /** The scaled, jittered length of a phase in wall-clock milliseconds. */
  duration(nominalMs: number): number {
    const j = this.timings.jitter;
    const factor = j > 0 ? 1 + j * (2 * this.#random() - 1) : 1;
    return Math.max(0, nominalMs * factor * this.timeScale);
  }

  /** Waits for a phase; rejects with an AbortError when the machine loses power or resets. */
  async wait(nominalMs: number, signal: AbortSignal): Promise<void> {
    await sleep(this.duration(nominalMs), undefined, { signal });
  }
}

/** A stable 32-bit seed from the fleet seed and a machine name. */
export function seedFor(seed: number, name: string): number {
  let h = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
