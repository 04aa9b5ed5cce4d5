import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { createLogger } from '../../../common/src/index.ts';
import type { Conductor } from '../conductor/conductor.ts';
import type { NodeRecord } from '../store/records.ts';
import type { IronicStore } from '../store/store.ts';
import { ApiError, errorBody } from './errors.ts';
import { registerInspectorRoutes } from './inspector.ts';
import { registerNodeRoutes } from './nodes.ts';
import { registerPortRoutes } from './ports.ts';
import { registerRamdiskRoutes } from './ramdisk.ts';
import { registerRootRoutes } from './root.ts';
import {
  type ApiVersion,
  MAX_HEADER,
  MAX_VERSION_STRING,
  MIN_HEADER,
  MIN_VERSION_STRING,
  parseVersion,
  VERSION_HEADER,
} from './versions.ts';

const log = createLogger('mock-ironic:api');

export interface AppDeps {
  store: IronicStore;
  conductor: Conductor;
  /** Base URL for links; by default taken from the request's Host header. */
  publicUrl?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiVersion: ApiVersion;
  }
  interface FastifyContextConfig {
    /** Name Ironic uses in "Schema error for <name>: ..." for this route's body. */
    schemaName?: string;
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

export function baseUrl(deps: AppDeps, req: FastifyRequest): string {
  return deps.publicUrl ?? `${req.protocol}://${req.headers.host ?? 'localhost:6385'}`;
}

/** api_utils.get_rpc_node: by UUID, or by logical name from API 1.5. */
export function findNode(store: IronicStore, ident: string): NodeRecord {
  const node = isUuid(ident) ? store.getNode(ident.toLowerCase()) : store.getNodeByName(ident);
  if (!node) throw ApiError.nodeNotFound(ident);
  return node;
}

/** Renders ajv errors as jsonschema's messages (common/args.py `_validate_schema`). */
function schemaMessage(name: string, err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return err.message;
  const p = first.params as Record<string, unknown>;
  let msg: string;
  switch (first.keyword) {
    case 'additionalProperties':
      msg = `Additional properties are not allowed ('${String(p['additionalProperty'])}' was unexpected)`;
      break;
    case 'required':
      msg = `'${String(p['missingProperty'])}' is a required property`;
      break;
    case 'maxLength':
      msg = `value at ${first.instancePath} is too long`;
      break;
    default:
      msg = `${first.instancePath || name} ${first.message ?? 'is invalid'}`;
  }
  return `Schema error for ${name}: ${msg}`;
}

function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  void reply.code(status).headers(headers).type('application/json').send(errorBody(status, message));
}

/**
 * The mock's REST API, Ironic v1 at microversion up to 1.82. Building is separate from listening, so
 * tests drive it with `app.inject()`.
 */
export function buildApp(deps: AppDeps): App {
  const app = Fastify({
    logger: false,
    // ironicclient asks for `/v1/nodes/` and `/v1/ports/?node=...` (pecan routes both forms).
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('apiVersion', null as unknown as ApiVersion);

  // Every /v1 response carries the supported range; the negotiated version when there is one
  // (v1 Controller `_add_version_attributes`).
  app.addHook('onRequest', async (req, reply) => {
    void reply.header(MIN_HEADER, MIN_VERSION_STRING).header(MAX_HEADER, MAX_VERSION_STRING);
    if (!req.url.startsWith('/v1')) return;
    const raw = req.headers[VERSION_HEADER];
    req.apiVersion = parseVersion(Array.isArray(raw) ? raw[0] : raw);
    void reply.header('X-OpenStack-Ironic-API-Version', `${req.apiVersion.major}.${req.apiVersion.minor}`);
  });

  // Pecan accepts an empty body as {} (method.body) and ironicclient sends JSON without a charset.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(ApiError.badRequest('Malformed JSON in request body', 'ClientSideError'), undefined);
    }
  });

  // ironicclient sends DELETE with `Content-Type: application/octet-stream` and no body.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(415, 'Unsupported Media Type', 'UnsupportedMediaType'), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      sendError(reply, err.status, err.message, err.headers);
      return;
    }
    if (err.validation) {
      const name = req.routeOptions.config.schemaName ?? 'body';
      sendError(reply, 400, schemaMessage(name, err));
      return;
    }
    if (err.statusCode && err.statusCode < 500) {
      sendError(reply, err.statusCode, err.message);
      return;
    }
    log.warn('internal error on %s %s: %s', req.method, req.url, err.stack ?? err.message);
    sendError(reply, 500, err.message);
  });

  app.setNotFoundHandler((_req, reply) => sendError(reply, 404, 'The resource could not be found.'));

  registerRootRoutes(app, deps);
  registerNodeRoutes(app, deps);
  registerPortRoutes(app, deps);
  registerRamdiskRoutes(app, deps);
  registerInspectorRoutes(app, deps);
  return app;
}
