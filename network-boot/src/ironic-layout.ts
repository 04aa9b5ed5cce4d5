/**
 * Writes boot files the way Ironic's ipxe boot interface lays them out in `[deploy]http_root`
 * (reference/ironic.md sec. 5): `boot.ipxe`, `<uuid>/config`, `<uuid>/deploy_kernel|deploy_ramdisk`
 * and the `pxelinux.cfg/<mac-with-hyphens>` symlink to `../<uuid>/config`. The scripts follow
 * Ironic's `boot.ipxe` and `ipxe_config.template` (deploy section, with its retry loop). Used by labs
 * that run without a provisioning system and by tests; a real Ironic writes the same shape itself.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const IRONIC_BOOT_IPXE = `#!ipxe

# Loop over all network devices and boot from the first one capable of booting.
set netid:int32 -1
:loop
inc netid
isset \${net\${netid}/mac} || goto loop_done
echo Attempting to boot from MAC \${net\${netid}/mac:hexhyp}
chain pxelinux.cfg/\${net\${netid}/mac:hexhyp} || goto loop

:loop_done
echo PXE boot failed! No configuration found for any of the present NICs.
echo Press any key to reboot...
prompt --timeout 180
reboot
`;

export interface IronicNodeBoot {
  readonly uuid: string;
  /** MACs of the node's ports. */
  readonly macs: readonly string[];
  /** Ironic `[deploy]http_url`, e.g. http://127.0.0.1:8088 */
  readonly httpUrl: string;
  /** What Ironic puts in `ipa-api-url` (its API endpoint). */
  readonly apiUrl: string;
  /** Extra kernel parameters (`[pxe]kernel_append_params`), e.g. `ipa-inspection-callback-url=...`. */
  readonly appendParams?: string;
  /** `deploy` boots the agent ramdisk; `local` makes the config boot the local disk. */
  readonly mode?: 'deploy' | 'local';
}

export function ironicNodeConfig(n: IronicNodeBoot): string {
  const append = n.appendParams ?? 'nofb nomodeset vga=normal console=ttyS0';
  const entry = n.mode === 'local' ? 'boot_whole_disk' : 'deploy';
  return `#!ipxe

set attempts:int32 10
set i:int32 0

goto ${entry}

:deploy
imgfree
kernel ${n.httpUrl}/${n.uuid}/deploy_kernel selinux=0 troubleshoot=0 text ${append} BOOTIF=\${mac} ipa-api-url=${n.apiUrl} initrd=deploy_ramdisk coreos.configdrive=0 || goto retry

initrd --name deploy_ramdisk ${n.httpUrl}/${n.uuid}/deploy_ramdisk || goto retry
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

:boot_whole_disk
sanboot --no-describe
`;
}

/** Writes boot.ipxe (if absent it is created), the node's config, images and MAC symlinks. */
export async function writeIronicBootFiles(
  root: string,
  node: IronicNodeBoot,
  images: { kernel?: Buffer; ramdisk?: Buffer } = {},
): Promise<void> {
  await mkdir(join(root, node.uuid), { recursive: true });
  await mkdir(join(root, 'pxelinux.cfg'), { recursive: true });
  await writeFile(join(root, 'boot.ipxe'), IRONIC_BOOT_IPXE);
  await writeFile(join(root, node.uuid, 'config'), ironicNodeConfig(node));
  await writeFile(join(root, node.uuid, 'deploy_kernel'), images.kernel ?? Buffer.from('bzImage stand-in\n'));
  await writeFile(
    join(root, node.uuid, 'deploy_ramdisk'),
    images.ramdisk ?? Buffer.from('initramfs stand-in\n'),
  );
  for (const mac of node.macs) {
    const link = join(root, 'pxelinux.cfg', mac.toLowerCase().replace(/:/g, '-'));
    await rm(link, { force: true });
    await symlink(`../${node.uuid}/config`, link);
  }
}

/** Removes a node's files, as Ironic's clean_up_boot does on tear down. */
export async function removeIronicBootFiles(
  root: string,
  node: Pick<IronicNodeBoot, 'uuid' | 'macs'>,
): Promise<void> {
  await rm(join(root, node.uuid), { recursive: true, force: true });
  for (const mac of node.macs)
    await rm(join(root, 'pxelinux.cfg', mac.toLowerCase().replace(/:/g, '-')), { force: true });
}
