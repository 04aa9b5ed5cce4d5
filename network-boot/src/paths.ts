import { isAbsolute, join, normalize, relative, sep } from 'node:path';

/**
 * Maps a request path (TFTP file name or URL path) into `root`, or undefined when it would leave
 * it. Leading slashes are dropped (clients send both `pxelinux.0` and `/pxelinux.0`); `..` segments
 * that climb out of the root are refused. Symlinks inside the root are followed when the file is
 * opened, as Ironic's `pxelinux.cfg/<mac>` links require.
 */
export function resolveUnder(root: string, requestPath: string): string | undefined {
  if (requestPath.includes('\0')) return undefined;
  const cleaned = normalize(requestPath.replace(/\\/g, '/').replace(/^\/+/, ''));
  const full = join(root, cleaned);
  const rel = relative(root, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return full;
}
