import { copyFile, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../../common/src/index.ts';

const log = createLogger('mock-ironic:boot-files');

/**
 * What Ironic's `ipxe` boot interface writes into `[deploy]http_root` (ironic/common/pxe_utils.py,
 * drivers/modules/boot.ipxe and ipxe_config.template in 21.4):
 *   http_root/boot.ipxe                      chains pxelinux.cfg/${mac:hexhyp} for each NIC
 *   http_root/<uuid>/config                  the node's iPXE script (deploy section)
 *   http_root/<uuid>/deploy_kernel|_ramdisk  copies of driver_info deploy_kernel / deploy_ramdisk
 *   http_root/pxelinux.cfg/<mac-hyphen>      -> ../<uuid>/config   (_get_pxe_mac_path)
 *   http_root/grub.cfg-01-<mac-hyphen>       -> <uuid>/config      (_get_pxe_grub_mac_path)
 *   http_root/<mac>.conf                     -> <uuid>/config
 */
export interface BootFilesConfig {
  /** `[deploy]http_root`. */
  httpRoot: string;
  /** `[deploy]http_url`: where the boot root is served; goes into the kernel/initrd URLs. */
  httpUrl: string;
  /** `[service_catalog]endpoint_override`: becomes `ipa-api-url` on the kernel command line. */
  apiUrl: string;
  /** `[pxe]kernel_append_params` (21.4 default). */
  kernelAppendParams?: string;
}

export const BOOT_IPXE = `#!ipxe

# NOTE(lucasagomes): Loop over all network devices and boot from
# the first one capable of booting. For more information see:
# https://bugs.launchpad.net/ironic/+bug/1504482
set netid:int32 -1
:loop
inc netid || chain pxelinux.cfg/\${mac:hexhyp} || goto old_rom
isset \${net\${netid}/mac} || goto loop_done
echo Attempting to boot from MAC \${net\${netid}/mac:hexhyp}
chain pxelinux.cfg/\${net\${netid}/mac:hexhyp} || goto loop

# If we've got here the chained config returned success
# suggesting "sanboot" in boot_whole_disk failed (some UEFI cases)
# exit 0 so the bios continues to the next device
echo Exiting pxe config to allow boot to continue on next device
exit 0

:loop_done
echo PXE boot failed! No configuration found for any of the present NICs.
echo Press any key to reboot...
prompt --timeout 180
reboot

:old_rom
echo PXE boot failed! No configuration found for NIC \${mac:hexhyp}.
echo Please update your iPXE ROM and retry.
echo Press any key to reboot...
prompt --timeout 180
reboot
`;

/** The deploy section of ipxe_config.template as rendered for a BIOS node booting the agent ramdisk. */
export function renderNodeConfig(
  cfg: BootFilesConfig,
  nodeUuid: string,
  requestId: string,
  ramdiskParams: Readonly<Record<string, string>> = {},
): string {
  const base = cfg.httpUrl.replace(/\/$/, '');
  const append = cfg.kernelAppendParams ?? 'nofb nomodeset vga=normal';
  // prepare_ramdisk's ramdisk_params (e.g. ipa-inspection-callback-url) come before ipa-api-url.
  const extra = Object.entries(ramdiskParams)
    .map(([k, v]) => ` ${k}=${v}`)
    .join('');
  const params = `${append}${extra} ipa-api-url=${cfg.apiUrl} ipa-global-request-id=${requestId}`;
  return `#!ipxe

set attempts:int32 10
set i:int32 0

goto deploy

:deploy
imgfree
kernel ${base}/${nodeUuid}/deploy_kernel selinux=0 troubleshoot=0 text ${params} BOOTIF=\${mac} initrd=deploy_ramdisk || goto retry

initrd ${base}/${nodeUuid}/deploy_ramdisk || goto retry
boot

:retry
iseq \${i} \${attempts} && goto fail ||
inc i
echo No response, retrying in \${i} seconds.
sleep \${i}
goto deploy

:fail
echo Failed to get a response after \${attempts} attempts
echo Powering off in 30 seconds.
sleep 30
poweroff
`;
}

function macLinks(httpRoot: string, mac: string): string[] {
  const lower = mac.toLowerCase();
  const hyphen = lower.replaceAll(':', '-');
  return [
    join(httpRoot, 'pxelinux.cfg', hyphen),
    join(httpRoot, `grub.cfg-01-${hyphen}`),
    join(httpRoot, `${lower}.conf`),
  ];
}

/** Copies a deploy image named by a file:// or http(s):// URL (Ironic's ImageCache does the same). */
async function fetchImage(href: string, dest: string): Promise<void> {
  if (href.startsWith('file://')) {
    await copyFile(fileURLToPath(href), dest);
    return;
  }
  if (href.startsWith('/')) {
    await copyFile(href, dest);
    return;
  }
  const res = await fetch(href);
  if (!res.ok) throw new Error(`GET ${href}: HTTP ${res.status}`);
  await writeFile(dest, Buffer.from(await res.arrayBuffer()));
}

/** prepare_ramdisk: write boot.ipxe, the node's config, the kernel/ramdisk copies and the MAC links. */
export async function writeRamdiskBootFiles(
  cfg: BootFilesConfig,
  node: { uuid: string; deployKernel: string; deployRamdisk: string },
  macs: readonly string[],
  requestId: string,
  ramdiskParams: Readonly<Record<string, string>> = {},
): Promise<void> {
  const nodeDir = join(cfg.httpRoot, node.uuid);
  await mkdir(join(cfg.httpRoot, 'pxelinux.cfg'), { recursive: true });
  await mkdir(nodeDir, { recursive: true });
  await writeFile(join(cfg.httpRoot, 'boot.ipxe'), BOOT_IPXE);
  await fetchImage(node.deployKernel, join(nodeDir, 'deploy_kernel'));
  await fetchImage(node.deployRamdisk, join(nodeDir, 'deploy_ramdisk'));
  const configPath = join(nodeDir, 'config');
  await writeFile(configPath, renderNodeConfig(cfg, node.uuid, requestId, ramdiskParams));
  for (const mac of macs) {
    for (const link of macLinks(cfg.httpRoot, mac)) {
      await unlink(link).catch(() => undefined);
      await symlink(relative(dirname(link), configPath), link);
    }
  }
  log.debug('wrote boot files for %s (%d MACs)', node.uuid, macs.length);
}

/** clean_up_pxe_config: drop the MAC links and the node's config (local boot needs neither). */
export async function removeNodeConfig(cfg: BootFilesConfig, nodeUuid: string, macs: readonly string[]) {
  for (const mac of macs) {
    for (const link of macLinks(cfg.httpRoot, mac)) await unlink(link).catch(() => undefined);
  }
  await rm(join(cfg.httpRoot, nodeUuid, 'config'), { force: true });
}

/** clean_up_ramdisk + clean_up_pxe_config on tear down: everything of the node goes. */
export async function removeBootFiles(cfg: BootFilesConfig, nodeUuid: string, macs: readonly string[]) {
  await removeNodeConfig(cfg, nodeUuid, macs);
  await rm(join(cfg.httpRoot, nodeUuid), { recursive: true, force: true });
}
