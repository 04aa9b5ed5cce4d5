/**
 * Test peers for the agent: a minimal Ironic-shaped server that records every ramdisk request and
 * answers as Ironic 21.4 does (reference ironic.md §5), and an HTTP server for images.
 * Used by the agent's tests; nothing else depends on it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export interface IronicStubOptions {
  readonly nodeUuid?: string;
  readonly macs?: readonly string[];
  /** Lookups answered 404 before the node "enters" a wait state. */
  readonly lookupMissesBeforeFound?: number;
  /** What `GET /` reports as `default_version.version`. */
  readonly maxVersion?: string;
  readonly heartbeatTimeout?: number;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Ironic's error body: `error_message` is a JSON *string* holding faultstring (reference ironic.md). */
function ironicError(faultstring: string): string {
  return JSON.stringify({
    error_message: JSON.stringify({ faultcode: 'Client', faultstring, debuginfo: null }),
  });
}

export class IronicStub {
  readonly requests: RecordedRequest[] = [];
  readonly token = randomBytes(32).toString('base64url');
  readonly nodeUuid: string;
  readonly #opts: IronicStubOptions;
  readonly #server: Server;
  #lookups = 0;
  #tokenIssued = false;
  url = '';

  constructor(opts: IronicStubOptions = {}) {
    this.#opts = opts;
    this.nodeUuid = opts.nodeUuid ?? '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(([status, body]) => {
        res.writeHead(status, body === '' ? {} : { 'content-type': 'application/json' });
        res.end(body);
      });
    });
  }

  async start(): Promise<this> {
    this.url = await listen(this.#server);
    return this;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }

  heartbeats(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/v1/heartbeat/'));
  }

  async #handle(req: IncomingMessage): Promise<[number, string]> {
    const u = new URL(req.url ?? '/', 'http://x');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      body: await readBody(req),
    };
    this.requests.push(rec);
    const max = this.#opts.maxVersion ?? '1.82';
    if (rec.method === 'GET' && rec.path === '/') {
      const v = { id: 'v1', links: [], status: 'CURRENT', min_version: '1.1', version: max };
      return [200, JSON.stringify({ name: 'OpenStack Ironic API', versions: [v], default_version: v })];
    }
    if (rec.method === 'GET' && rec.path === '/v1/lookup') {
      const macs = (rec.query['addresses'] ?? '').split(',');
      const known = this.#opts.macs ?? [];
      if (
        this.#lookups++ < (this.#opts.lookupMissesBeforeFound ?? 0) ||
        !macs.some((m) => known.includes(m))
      ) {
        return [404, ironicError(`Node with addresses ${rec.query['addresses']} was not found.`)];
      }
      // The token is handed out once per boot; later lookups see it masked.
      const token = this.#tokenIssued ? '******' : this.token;
      this.#tokenIssued = true;
      return [
        200,
        JSON.stringify({
          node: { uuid: this.nodeUuid, properties: {}, instance_info: {}, driver_internal_info: {} },
          config: {
            metrics: {
              backend: 'noop',
              prepend_host: false,
              prepend_uuid: false,
              prepend_host_reverse: true,
              global_prefix: null,
            },
            metrics_statsd: { agent_statsd_host: 'localhost', agent_statsd_port: 8125 },
            heartbeat_timeout: this.#opts.heartbeatTimeout ?? 300,
            agent_token: token,
            agent_token_required: true,
            disable_deep_image_inspection: false,
            permitted_image_formats: ['raw', 'qcow2', 'iso'],
          },
        }),
      ];
    }
    const hb = /^\/v1\/heartbeat\/([^/]+)$/.exec(rec.path);
    if (rec.method === 'POST' && hb) {
      const b = (rec.body ?? {}) as Record<string, unknown>;
      if (hb[1] !== this.nodeUuid) return [404, ironicError(`Node ${hb[1]} could not be found.`)];
      if (b['agent_version'] === undefined) return [400, ironicError('Missing agent_version')];
      if (b['agent_token'] !== this.token)
        return [400, ironicError('Invalid or missing agent token received.')];
      return [202, ''];
    }
    return [404, ironicError('The resource could not be found.')];
  }
}

export interface ImageFixture {
  readonly url: string;
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly md5: string;
  readonly gets: () => number;
  stop(): Promise<void>;
}

/** Serves `bytes` at `/image.raw` (and its sha256 checksums file at `/image.raw.sha256sum`). */
export async function serveImage(bytes: Buffer = randomBytes(256 * 1024)): Promise<ImageFixture> {
  let gets = 0;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const server = createServer((req, res) => {
    if (req.url === '/image.raw') {
      if (req.method === 'GET') gets++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    } else if (req.url === '/image.raw.sha256sum') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${sha256}  image.raw\n`);
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  const base = await listen(server);
  return {
    url: `${base}/image.raw`,
    bytes,
    sha256,
    md5: createHash('md5').update(bytes).digest('hex'),
    gets: () => gets,
    stop: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
