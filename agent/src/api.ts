/**
 * The agent's REST API on its callback URL (IPA `api/app.py`, werkzeug routing):
 *   GET /, GET /v1/, GET /v1/status, GET /v1/commands/, GET /v1/commands/<id>[?wait=true],
 *   POST /v1/commands/?wait=true|false&agent_token=<token>  body {"name": "<ext>.<cmd>", "params": {...}}
 * and the same without the `/v1` prefix. Errors are `{faultcode, faultstring}` (WSME style).
 * The body is parsed as JSON whatever its Content-Type (`get_json(force=True)`).
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { CommandResult, CommandRunner } from './commands.ts';
import { faultBody, HttpFault, httpFaults, IpaError } from './errors.ts';

export interface AgentApi {
  readonly commands: CommandRunner<unknown>;
  /** IPA `validate_agent_token`. */
  validateToken(token: string | undefined): boolean;
  status(): { started_at: number | null; version: string };
}

const customMediaType = 'application/vnd.openstack.ironic-python-agent.v1+json';
const docsUrl = 'https://docs.openstack.org/ironic-python-agent';

type Link = { href: string; rel: string; type?: string };

/** IPA `make_link`. */
function link(root: string, rel: string, resource = '', bookmark = false): Link {
  if (rel === 'describedby') return { href: `${docsUrl}/${resource}`, rel, type: 'text/html' };
  const b = bookmark || rel === 'bookmark';
  return { href: b ? `${root}/${resource}` : `${root}/v1/${resource}`, rel };
}

function version(root: string) {
  return { id: 'v1', links: [link(root, 'self', 'v1', true), link(root, 'describedby', '', true)] };
}

function urlRoot(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? req.hostname}`;
}

function isTrue(v: unknown): boolean {
  return typeof v === 'string' && v.toLowerCase() === 'true';
}

// Paths werkzeug knows, for telling 405 from 404 and for its strict-slash redirects.
const knownPaths: Record<string, readonly string[]> = {
  '/': ['GET'],
  '/v1/': ['GET'],
  '/v1/status': ['GET'],
  '/status': ['GET'],
  '/v1/commands/': ['GET', 'POST'],
  '/commands/': ['GET', 'POST'],
};

export function buildApp(api: AgentApi, opts: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof IpaError) return reply.code(err.status).send(faultBody(err.status, err.message));
    if (err instanceof HttpFault) return reply.code(err.status).send(faultBody(err.status, err.message));
    const e = err as { statusCode?: number; message?: string };
    const status = e.statusCode ?? 500;
    return reply.code(status).send(faultBody(status, String(e.message)));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const allowed = knownPaths[path] ?? (/^\/(v1\/)?commands\/[^/]+$/.test(path) ? ['GET'] : undefined);
    if (allowed !== undefined) {
      const f = httpFaults.methodNotAllowed();
      return reply
        .code(f.status)
        .header('allow', [...allowed, 'HEAD', 'OPTIONS'].join(', '))
        .send(faultBody(f.status, f.message));
    }
    // werkzeug redirects a rule that ends in '/' when the slash is missing.
    if (knownPaths[`${path}/`] !== undefined) {
      return reply
        .code(308)
        .header('location', `${urlRoot(req)}${req.url.replace(path, `${path}/`)}`)
        .send();
    }
    const f = httpFaults.notFound();
    return reply.code(f.status).send(faultBody(f.status, f.message));
  });

  app.get('/', async (req) => {
    const root = urlRoot(req);
    return {
      name: 'OpenStack Ironic Python Agent API',
      description: 'Ironic Python Agent is a provisioning agent for OpenStack Ironic',
      versions: [version(root)],
      default_version: version(root),
    };
  });

  app.get('/v1/', async (req) => {
    const root = urlRoot(req);
    return {
      commands: [link(root, 'self', 'commands'), link(root, 'bookmark', 'commands')],
      status: [link(root, 'self', 'status'), link(root, 'bookmark', 'status')],
      media_types: [{ base: 'application/json', type: customMediaType }],
      ...version(root),
    };
  });

  const status = async () => api.status();
  const list = async () => ({ commands: api.commands.list().map((c) => c.toJSON()) });
  const get = async (req: FastifyRequest<{ Params: { id: string }; Querystring: { wait?: string } }>) => {
    const result: CommandResult = api.commands.get(req.params.id);
    if (isTrue(req.query.wait)) await result.done;
    return result.toJSON();
  };
  const run = async (req: FastifyRequest<{ Querystring: { wait?: string; agent_token?: string } }>) => {
    let body: unknown;
    try {
      body = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch (err) {
      throw httpFaults.badRequest(`Failed to decode JSON object: ${(err as Error).message}`);
    }
    const b = body as { name?: unknown; params?: unknown } | null;
    if (
      b === null ||
      typeof b !== 'object' ||
      !('name' in b) ||
      !('params' in b) ||
      b.params === null ||
      typeof b.params !== 'object' ||
      Array.isArray(b.params)
    ) {
      throw httpFaults.badRequest('Missing or invalid name or params');
    }
    if (!api.validateToken(req.query.agent_token)) throw httpFaults.unauthorized();
    const result = await api.commands.execute(String(b.name), b.params as Record<string, unknown>);
    if (isTrue(req.query.wait)) await result.done;
    return result.toJSON();
  };

  for (const prefix of ['/v1', '']) {
    app.get(`${prefix}/status`, status);
    app.get(`${prefix}/commands/`, list);
    app.get(`${prefix}/commands/:id`, get);
    app.post(`${prefix}/commands/`, run);
  }
  return app;
}
