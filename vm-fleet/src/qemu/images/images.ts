/**
 * The guest images the qemu backend boots, built by scripts/build-images.sh from Debian packages and
 * cached in the lab's state directory (default `.bmlab/images`). See that script for what each holds.
 */
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const DEFAULT_IMAGES_DIR = '.bmlab/images';

const BUILD_SCRIPT = fileURLToPath(new URL('../../../../scripts/build-images.sh', import.meta.url));

export interface GuestImages {
  readonly dir: string;
  /** Debian cloud kernel. */
  readonly kernel: string;
  /** Agent ramdisk: phones home, runs the relay that writes images to /dev/vda. */
  readonly agentInitrd: string;
  /** 24 MiB raw disk (MBR, FAT16, SYSLINUX for BIOS and UEFI) that prints DEPLOYED-IMAGE-BOOTED and phones home. */
  readonly deployImage: string;
  readonly manifest: ImageManifest;
}

export interface ImageManifest {
  readonly kernel: string;
  readonly buildSeconds: number;
  readonly files: Readonly<Record<string, { readonly bytes: number; readonly sha256: string }>>;
}

/**
 * How the guest images talk to the lab, over plain HTTP to `bmlab.url` (kernel argument; default: the
 * origin of the boot file URL DHCP handed out, which is the lab's boot server, else
 * `http://<DHCP router>:8080`):
 *
 *   POST /phonehome?role=agent|deployed&id=&mac=&ip=&uptime=&event=up
 *       first call after DHCP; the body is the guest's own measurements, `key=value` lines:
 *       cmdline=, arch=, cpu_count=, cpu_model=, cpu_mhz=, cpu_flags=, cpu_sockets=, mem_total_kb=,
 *       dimm_mb= (one per SMBIOS memory device), disk=<name> <bytes> <rotational> [serial],
 *       nic=<name> <mac> <carrier> [ipv4]
 *   GET /phonehome?...&event=written&rc=   after an image write (rc 0 = dd and sync succeeded)
 *   GET /relay?id=&mac=      polled every 2 s by the agent ramdisk; the body is one command:
 *       write <url>     `wget -O - <url> | dd of=/dev/vda bs=1M conv=fsync`, then phonehome event=written
 *       poweroff        `poweroff -f` (QEMU exits: the machine reads off)
 *       reboot          `reboot -f`
 *     an empty body, 204 or 404 means nothing to do.
 * `bmlab.deploy=<url>` on the agent's kernel command line writes at once and powers off, without the relay.
 */
export const GUEST_PROTOCOL = { phoneHome: '/phonehome', relay: '/relay' } as const;

/** The console line the deploy image prints once its init runs. */
export const DEPLOYED_MARKER = 'DEPLOYED-IMAGE-BOOTED';

/**
 * Size of deploy.img. Its init hashes this many bytes of its own disk and prints the digest on the
 * marker line (`DEPLOYED-IMAGE-BOOTED id=... sha256=<hex>`): the machine itself says which image booted.
 */
export const DEPLOY_IMAGE_BYTES = 24 * 1024 * 1024;

/** Builds the images unless `dir` already holds a finished build; returns their paths. */
export async function ensureImages(
  dir = DEFAULT_IMAGES_DIR,
  options: { force?: boolean } = {},
): Promise<GuestImages> {
  await execa('bash', [BUILD_SCRIPT, dir, ...(options.force === true ? ['--force'] : [])], {
    stdio: 'inherit',
  });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
  return {
    dir,
    kernel: join(dir, 'vmlinuz'),
    agentInitrd: join(dir, 'initrd-agent.gz'),
    deployImage: join(dir, 'deploy.img'),
    manifest,
  };
}

/** Byte offset of the deploy image's FAT partition (sfdisk `start=2048` sectors). */
const PARTITION_OFFSET = 1024 * 1024;

/**
 * Copies the deploy image with extra kernel arguments (e.g. `bmlab.url=http://10.0.2.2:PORT` so it
 * phones home to a lab on a non-default port), rewriting syslinux.cfg in place with mtools: no root,
 * no loop device.
 */
export async function customizeDeployImage(src: string, dst: string, extraAppend: string): Promise<void> {
  await copyFile(src, dst);
  const cfg = `${dst}.syslinux.cfg`;
  await writeFile(
    cfg,
    [
      'SERIAL 0 115200',
      'DEFAULT deployed',
      'TIMEOUT 0',
      'LABEL deployed',
      '  LINUX /vmlinuz',
      '  INITRD /initrd.gz',
      `  APPEND console=ttyS0 no_timer_check bmlab.id=deployed bmlab.image_bytes=${DEPLOY_IMAGE_BYTES} ${extraAppend}`,
      '',
    ].join('\n'),
  );
  try {
    // BIOS SYSLINUX reads the root's copy, syslinux.efi the one next to it in \EFI\BOOT.
    for (const target of ['::/syslinux.cfg', '::/EFI/BOOT/syslinux.cfg']) {
      await execa('mcopy', ['-o', '-i', `${dst}@@${PARTITION_OFFSET}`, cfg, target]);
    }
  } finally {
    await rm(cfg, { force: true });
  }
}
