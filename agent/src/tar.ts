/**
 * A minimal POSIX ustar writer (POSIX.1-1988 `ustar` header, 512-byte blocks) for
 * `log.collect_system_logs`, which returns `base64(gzip(tar))` as IPA's `utils.gzip_and_b64encode` does.
 * Regular files only; names up to 100 bytes.
 */
import { gzipSync } from 'node:zlib';

const block = 512;

function octal(value: number, width: number): string {
  // width - 1 digits, then NUL.
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mtimeS: number): Buffer {
  const h = Buffer.alloc(block);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new RangeError(`tar: name longer than 100 bytes: ${name}`);
  nameBytes.copy(h, 0);
  h.write(octal(0o644, 8), 100, 'ascii'); // mode
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii'); // size
  h.write(octal(mtimeS, 12), 136, 'ascii'); // mtime
  h.fill(0x20, 148, 156); // chksum counts as spaces while summing
  h.write('0', 156, 'ascii'); // typeflag: regular file
  h.write('ustar\0', 257, 'ascii'); // magic
  h.write('00', 263, 'ascii'); // version
  h.write('root', 265, 'ascii'); // uname
  h.write('root', 297, 'ascii'); // gname
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

export function tar(
  files: Record<string, string | Uint8Array>,
  mtimeS = Math.floor(Date.now() / 1000),
): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    parts.push(header(name, data.length, mtimeS), data);
    const pad = (block - (data.length % block)) % block;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  // End of archive: two zero blocks.
  parts.push(Buffer.alloc(2 * block));
  return Buffer.concat(parts);
}

export function gzipAndB64(files: Record<string, string | Uint8Array>, mtimeS?: number): string {
  return gzipSync(tar(files, mtimeS)).toString('base64');
}
