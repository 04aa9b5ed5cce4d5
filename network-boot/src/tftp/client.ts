/**
 * A minimal TFTP reader (RFC 1350 octet mode, optional RFC 2348 blksize), enough for the sim's
 * PXE ROM to fetch its iPXE build from a real TFTP server, and for tests.
 */
import { createSocket } from 'node:dgram';
import { BmlabError } from '../../../common/src/index.ts';
import { decodeTftp, encodeTftp, nextBlock } from './packet.ts';

export async function tftpGet(
  host: string,
  port: number,
  file: string,
  opts: { blksize?: number; timeoutMs?: number } = {},
): Promise<Buffer> {
  const sock = createSocket('udp4');
  const timeoutMs = opts.timeoutMs ?? 2000;
  const options: [string, string][] = opts.blksize ? [['blksize', String(opts.blksize)]] : [];
  let blksize = 512;
  const chunks: Buffer[] = [];
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      let expected = 1;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => reject(new BmlabError('ERR_TFTP_TIMEOUT', `tftp://${host}:${port}/${file}: timeout`)),
          timeoutMs,
        );
      };
      sock.on('error', reject);
      sock.on('message', (msg, rinfo) => {
        let p: ReturnType<typeof decodeTftp>;
        try {
          p = decodeTftp(msg);
        } catch (e) {
          return reject(e);
        }
        const ack = (block: number) => sock.send(encodeTftp({ op: 'ack', block }), rinfo.port, rinfo.address);
        if (p.op === 'error') {
          clearTimeout(timer);
          return reject(
            new BmlabError('ERR_TFTP_REMOTE', `tftp://${host}:${port}/${file}: error ${p.code} ${p.message}`),
          );
        }
        if (p.op === 'oack') {
          const b = p.options.find(([k]) => k === 'blksize');
          if (b) blksize = Number(b[1]);
          arm();
          return ack(0);
        }
        if (p.op !== 'data') return;
        if (p.block !== expected) return ack(p.block); // a retransmission: acknowledge again
        chunks.push(Buffer.from(p.data));
        ack(p.block);
        expected = nextBlock(expected);
        if (p.data.length < blksize) {
          clearTimeout(timer);
          return resolve(Buffer.concat(chunks));
        }
        arm();
      });
      sock.send(encodeTftp({ op: 'rrq', filename: file, mode: 'octet', options }), port, host, (err) => {
        if (err) reject(err);
        else arm();
      });
    });
  } finally {
    sock.close();
  }
}
