import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

/** Serves one disk image over HTTP on loopback, as the lab's boot HTTP server does. */
export async function serveImage(
  bytes: Buffer = Buffer.alloc(4096, 0xab),
): Promise<{ url: string; md5: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url !== '/disk.raw') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': bytes.length, 'Content-Type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/disk.raw`,
    md5: createHash('md5').update(bytes).digest('hex'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
