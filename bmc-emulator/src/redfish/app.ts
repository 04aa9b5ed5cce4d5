/**
 * The Redfish service: one HTTP service for many systems, as sushy-tools serves
 * `/redfish/v1/Systems/<node>` on port 8000. Built apart from listening (`RedfishServer` listens),
 * so tests drive it with `app.inject()`.
 *
 * Authentication (DSP0266 §13): HTTP Basic or a session token (`X-Auth-Token`) on every request but
 * the service root, the OData documents and session login; anything else without valid credentials
 * is 401 — also for URIs that do not exist, so an anonymous client learns nothing.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ConfigError, createLogger, seededRandom } from '../../../common/src/index.ts';
import { findSystem, type RedfishContext, SessionStore } from './context.ts';
import { Errors, errorBody, RedfishError } from './errors.ts';
import { registerChassisRoutes } from './routes/chassis.ts';
import { registerManagerRoutes } from './routes/managers.ts';
import { registerServiceRoutes } from './routes/service.ts';
import { registerSystemRoutes } from './routes/systems.ts';
import { NO_REDFISH_FAULTS, RedfishSystem, type RedfishSystemOptions, uuidFromName } from './system.ts';

const log = createLogger('bmc:redfish');

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without credentials (service root, OData documents, session login). */
    public?: boolean;
  }
}

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
}

export interface RedfishAppOptions {
  /** The systems served; each is a `RedfishSystem` or the options to build one. */
  readonly systems: readonly (RedfishSystem | RedfishSystemOptions)[];
  readonly auth: { readonly username: string; readonly password: string };
  /** Session tokens (tests pass a deterministic source). */
  readonly newToken?: () => string;
  readonly sessionTimeoutS?: number;
  /** The service root's UUID; derived from a fixed name when not given. */
  readonly serviceUuid?: string;
  /** Seed for the fault decisions (`errorRate`), so a faulty run can be replayed. */
  readonly seed?: number;
  /** Milliseconds clock for session expiry (tests pass a manual clock). */
  readonly now?: () => number;
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly https?: TlsMaterial;
}

export type RedfishApp = FastifyInstance & { readonly redfish: RedfishContext };

function authorized(req: FastifyRequest, ctx: RedfishContext): boolean {
  const token = req.headers['x-auth-token'];
  if (typeof token === 'string' && ctx.sessions.byToken(token) !== undefined) return true;
  const auth = req.headers.authorization;
  if (auth === undefined || !/^basic /i.test(auth)) return false;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return (
    colon >= 0 &&
    decoded.slice(0, colon) === ctx.credentials.username &&
    decoded.slice(colon + 1) === ctx.credentials.password
  );
}

/** Turns Ajv's first complaint into the Base registry message a Redfish service answers with. */
function validationError(err: FastifyError): RedfishError {
  const v = err.validation?.[0];
  if (v === undefined) return Errors.malformedJson();
  const path = v.instancePath.replace(/^\//, '');
  const params = v.params as Record<string, unknown>;
  if (v.keyword === 'required')
    return Errors.propertyMissing([path, params['missingProperty']].filter(Boolean).join('/'));
  if (v.keyword === 'additionalProperties') {
    return Errors.propertyUnknown([path, params['additionalProperty']].filter(Boolean).join('/'));
  }
  if (path === '') return Errors.malformedJson();
  return Errors.propertyValueTypeError(path, (v as { data?: unknown }).data);
}

export function buildRedfishApp(o: RedfishAppOptions): RedfishApp {
  const systems = new Map<string, RedfishSystem>();
  const owned = new Set<RedfishSystem>();
  const sessionTimeoutS = o.sessionTimeoutS ?? 600;
  const ctx: RedfishContext = {
    systems,
    sessions: new SessionStore(sessionTimeoutS * 1000, o.now, o.newToken),
    credentials: o.auth,
    sessionTimeoutS,
    faults: { ...NO_REDFISH_FAULTS },
    serviceUuid: o.serviceUuid ?? uuidFromName('redfish-service'),
    addSystem(s) {
      const sys = s instanceof RedfishSystem ? s : new RedfishSystem(s);
      if (systems.has(sys.id)) {
        if (sys !== s) sys.close();
        throw new ConfigError('systems', `duplicate system id '${sys.id}'`);
      }
      if (sys !== s) owned.add(sys);
      systems.set(sys.id, sys);
      return sys;
    },
    removeSystem(id) {
      const sys = systems.get(id);
      if (sys === undefined) return false;
      systems.delete(id);
      if (owned.delete(sys)) sys.close();
      return true;
    },
  };
  for (const s of o.systems) ctx.addSystem(s);
  const random = seededRandom(o.seed ?? 1);

  const app = Fastify({
    logger: false,
    ...(o.https === undefined ? {} : { https: o.https }),
    // sushy asks for `/redfish/v1/` and follows `@odata.id`s without the slash.
    routerOptions: { ignoreTrailingSlash: true },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, verbose: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  // sushy posts actions with no body at all or with `{}`; both mean "no parameters".
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (cause) {
      done(new RedfishError(400, 'MalformedJSON', Errors.malformedJson().message, { cause }), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('OData-Version', '4.0').header('Cache-Control', 'no-cache');
    // A sick BMC is sick before it checks anyone's credentials or body. Routing has already named
    // the system a request is about, so per-system faults hit only that node's URIs.
    const id = (req.params as { id?: string } | undefined)?.id;
    const own = id === undefined ? undefined : findSystem(ctx, id)?.faults;
    const svc = ctx.faults;
    const latency = svc.latencyMs + (own?.latencyMs ?? 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    const rate = Math.max(svc.errorRate, own?.errorRate ?? 0);
    if (svc.unavailable || own?.unavailable === true || (rate > 0 && random() < rate)) {
      throw Errors.unavailable(1);
    }
    if (req.routeOptions.config.public === true) return;
    if (!authorized(req, ctx)) throw Errors.noValidSession();
  });

  app.setErrorHandler((err: FastifyError | RedfishError, req, reply) => {
    let e: RedfishError;
    if (err instanceof RedfishError) e = err;
    else if (err.validation) e = validationError(err);
    else if (err.statusCode === 415) e = Errors.unsupportedMediaType();
    else if (err.statusCode === 400) e = Errors.malformedJson();
    else if (err.statusCode !== undefined && err.statusCode < 500) {
      e = new RedfishError(err.statusCode, 'GeneralError', err.message);
    } else {
      log.warn('internal error on %s %s: %s', req.method, req.url, err.stack ?? err.message);
      e = Errors.internal(err);
    }
    void reply.code(e.status).headers(e.headers).type('application/json').send(errorBody(e));
  });

  app.setNotFoundHandler(async (req) => {
    if (!authorized(req, ctx)) throw Errors.noValidSession();
    throw Errors.missingAtUri(req.url.split('?')[0] ?? req.url);
  });

  registerServiceRoutes(app, ctx);
  registerSystemRoutes(app, ctx);
  registerManagerRoutes(app, ctx);
  registerChassisRoutes(app, ctx);
  app.addHook('onClose', async () => {
    for (const s of owned) s.close();
  });
  return Object.assign(app, { redfish: ctx }) as unknown as RedfishApp;
}
