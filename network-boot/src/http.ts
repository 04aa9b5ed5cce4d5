/**
 * The HTTP boot root: serves a directory laid out like Ironic's `[deploy]http_root`, so a real
 * Ironic's ipxe boot interface and the mock write into the same place (reference/ironic.md sec. 5):
 *
 *   boot.ipxe                         the script iPXE gets from DHCP; chains pxelinux.cfg/${mac:hexhyp}
 *   pxelinux.cfg/52-54-00-00-00-01    symlink to ../<node uuid>/config
 *   <node uuid>/config                `kernel .../deploy_kernel ... ipa-api-url=... BOOTIF=${mac}`, `initrd`, `boot`
 *   <node uuid>/deploy_kernel, deploy_ramdisk, and images
 *
 * GET and HEAD with single byte ranges (RFC 9110 sec. 14: 206 + Content-Range, 416 when
 * unsatisfiable; multi-range requests get the whole file). Every response is reported to
 * `onFetch`, attributed to a node where the path or `?mac=` says which: the lab needs to know which
 * node fetched what. `buildApp` does not listen (fastify testing guide); `startBootHttp` does.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { normalizeMac } from './dhcp/options.ts';
import { resolveUnder } from './paths.ts';

export interface BootFetchEvent {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Body bytes sent (0 for HEAD). */
  readonly bytes: number;
  readonly remote: string;
  readonly range?: string;
  readonly mac?: string;
  readonly nodeUuid?: string;
}

export interface BootHttpDeps {
  /** The http_root directory. */
  readonly root: string;
  readonly onFetch?: (event: BootFetchEvent) => void;
  readonly logger?: boolean;
}

export type ByteRange = { readonly start: number; readonly end: number };

/**
 * One `bytes=` range against a file of `size` bytes (RFC 9110 sec. 14.1.2): `a-b`, `a-`, `-n`.
 * Returns undefined when the header should be ignored (absent, malformed, several ranges) and
 * 'unsatisfiable' when it cannot be served.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

const UUID_DIR = /^\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//i;
const MAC_FILE = /^\/pxelinux\.cfg\/(?:01-)?([0-9a-f]{2}(?:[-:][0-9a-f]{2}){5})$/i;

/** Which node a request belongs to, from Ironic's layout or an explicit `?mac=`. */
export function attributeRequest(
  path: string,
  query: Record<string, unknown>,
): { mac?: string; nodeUuid?: string } {
  const out: { mac?: string; nodeUuid?: string } = {};
  const q = query['mac'];
  const macMatch = MAC_FILE.exec(path);
  if (typeof q === 'string' && q !== '') out.mac = normalizeMac(q);
  else if (macMatch?.[1]) out.mac = normalizeMac(macMatch[1]);
  const uuid = UUID_DIR.exec(path)?.[1];
  if (uuid) out.nodeUuid = uuid.toLowerCase();
  return out;
}

function contentType(path: string): string {
  if (/\.(ipxe|cfg|conf|txt)$/i.test(path) || /\/config$/.test(path) || /pxelinux\.cfg\//.test(path)) {
    return 'text/plain; charset=utf-8';
  }
  return 'application/octet-stream';
}

export function buildApp(deps: BootHttpDeps): FastifyInstance {
  const app = Fastify({ logger: deps.logger ?? false, exposeHeadRoutes: false });

  app.addHook('onResponse', async (req, reply) => {
    if (!deps.onFetch) return;
    const path = req.url.split('?')[0] ?? req.url;
    const sent = Number(reply.getHeader('content-length') ?? 0);
    const range = req.headers.range;
    const event: BootFetchEvent = {
      method: req.method,
      path,
      status: reply.statusCode,
      bytes: req.method === 'HEAD' || reply.statusCode >= 400 ? 0 : sent,
      remote: req.ip,
      ...(range !== undefined ? { range } : {}),
      ...attributeRequest(path, req.query as Record<string, unknown>),
    };
    try {
      deps.onFetch(event);
    } catch {
      // an observer must not break serving
    }
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    handler: async (req, reply) => {
      let urlPath: string;
      try {
        urlPath = decodeURIComponent(req.url.split('?')[0] ?? '/');
      } catch {
        return reply.code(400).type('text/plain').send('bad path\n');
      }
      const file = resolveUnder(deps.root, urlPath);
      const st = file === undefined ? undefined : await stat(file).catch(() => undefined);
      if (file === undefined || st === undefined || !st.isFile()) {
        return reply.code(404).type('text/plain').send('not found\n');
      }
      reply.header('accept-ranges', 'bytes');
      reply.header('last-modified', st.mtime.toUTCString());
      reply.type(contentType(urlPath));
      const range = parseRange(req.headers.range, st.size);
      if (range === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${st.size}`).send();
      }
      const { start, end } = range ?? { start: 0, end: st.size - 1 };
      const length = Math.max(0, end - start + 1);
      if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${st.size}`);
      reply.header('content-length', length);
      if (req.method === 'HEAD' || length === 0) return reply.send();
      return reply.send(createReadStream(file, { start, end }));
    },
  });
  return app;
}

/** Listens on `host:port` (0 picks a port) and returns the base URL. */
export async function startBootHttp(
  deps: BootHttpDeps,
  listen: { host?: string; port?: number } = {},
): Promise<{ app: FastifyInstance; url: string; close: () => Promise<void> }> {
  const app = buildApp(deps);
  const host = listen.host ?? '127.0.0.1';
  await app.listen({ host, port: listen.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (listen.port ?? 0);
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: () => app.close() };
}
