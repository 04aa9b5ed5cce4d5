/**
 * Service root, OData documents and SessionService (DSP0266 §8.1, §13.3). The root, `$metadata`,
 * `odata` and session login are reachable without credentials, as the spec requires and as sushy
 * relies on (it reads the root before it authenticates).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RedfishContext } from '../context.ts';
import { Errors } from '../errors.ts';
import { collection, type Json, link, ROOT, refuseOtherMethods, sendResource } from '../http.ts';

const SESSIONS = `${ROOT}/SessionService/Sessions`;

/** Schemas the service's resources use, referenced from `$metadata` (DSP0266 §8.4.1). */
const SCHEMAS = [
  ['ServiceRoot', 'v1_5_0'],
  ['ComputerSystemCollection', ''],
  ['ComputerSystem', 'v1_10_0'],
  ['ProcessorCollection', ''],
  ['Processor', 'v1_9_0'],
  ['SimpleStorageCollection', ''],
  ['SimpleStorage', 'v1_2_0'],
  ['StorageCollection', ''],
  ['Storage', 'v1_8_0'],
  ['Drive', 'v1_9_0'],
  ['VolumeCollection', ''],
  ['Volume', 'v1_4_0'],
  ['EthernetInterfaceCollection', ''],
  ['EthernetInterface', 'v1_5_1'],
  ['Bios', 'v1_1_0'],
  ['ManagerCollection', ''],
  ['Manager', 'v1_10_0'],
  ['VirtualMediaCollection', ''],
  ['VirtualMedia', 'v1_3_0'],
  ['ChassisCollection', ''],
  ['Chassis', 'v1_14_0'],
  ['Power', 'v1_6_0'],
  ['Thermal', 'v1_6_0'],
  ['SessionService', 'v1_1_8'],
  ['SessionCollection', ''],
  ['Session', 'v1_3_0'],
  ['Message', 'v1_1_1'],
] as const;

function metadataXml(): string {
  const refs = SCHEMAS.map(
    ([ns, v]) =>
      `  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/${ns}_v1.xml">\n` +
      `    <edmx:Include Namespace="${ns}"/>\n` +
      (v ? `    <edmx:Include Namespace="${ns}.${v}"/>\n` : '') +
      '  </edmx:Reference>',
  ).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
${refs}
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">
      <EntityContainer Name="Service" Extends="ServiceRoot.v1_5_0.ServiceContainer"/>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`;
}

export function serviceRoot(ctx: RedfishContext): Json {
  return {
    '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
    '@odata.id': `${ROOT}/`,
    Id: 'RedfishService',
    Name: 'bmlab Redfish Service',
    RedfishVersion: '1.8.0',
    UUID: ctx.serviceUuid,
    Vendor: 'bmlab',
    Product: 'bmlab virtual BMC',
    Systems: link(`${ROOT}/Systems`),
    Managers: link(`${ROOT}/Managers`),
    Chassis: link(`${ROOT}/Chassis`),
    SessionService: link(`${ROOT}/SessionService`),
    Links: { Sessions: link(SESSIONS) },
  };
}

function sessionBody(s: { id: string; user: string; created: string }): Json {
  return {
    '@odata.type': '#Session.v1_3_0.Session',
    '@odata.id': `${SESSIONS}/${s.id}`,
    Id: s.id,
    Name: 'User Session',
    UserName: s.user,
    CreatedTime: s.created,
  };
}

const LoginBody = Type.Object({ UserName: Type.String(), Password: Type.String() });

export function registerServiceRoutes(app: FastifyInstance, ctx: RedfishContext): void {
  const open = { public: true };

  app.get('/redfish', { config: open }, async () => ({ v1: `${ROOT}/` }));
  refuseOtherMethods(app, '/redfish', ['GET']);
  app.get(ROOT, { config: open }, async (_req, reply) => sendResource(reply, serviceRoot(ctx)));
  refuseOtherMethods(app, ROOT, ['GET']);

  app.get(`${ROOT}/$metadata`, { config: open }, async (_req, reply) =>
    reply.type('application/xml').send(metadataXml()),
  );
  app.get(`${ROOT}/odata`, { config: open }, async () => ({
    '@odata.context': `${ROOT}/$metadata`,
    value: [
      { name: 'Service', kind: 'Singleton', url: `${ROOT}/` },
      { name: 'Systems', kind: 'Singleton', url: `${ROOT}/Systems` },
      { name: 'Chassis', kind: 'Singleton', url: `${ROOT}/Chassis` },
      { name: 'Managers', kind: 'Singleton', url: `${ROOT}/Managers` },
      { name: 'SessionService', kind: 'Singleton', url: `${ROOT}/SessionService` },
    ],
  }));

  app.get(`${ROOT}/SessionService`, async (_req, reply) =>
    sendResource(reply, {
      '@odata.type': '#SessionService.v1_1_8.SessionService',
      '@odata.id': `${ROOT}/SessionService`,
      Id: 'SessionService',
      Name: 'Session Service',
      ServiceEnabled: true,
      SessionTimeout: ctx.sessionTimeoutS,
      Status: { State: 'Enabled', Health: 'OK' },
      Sessions: link(SESSIONS),
    }),
  );
  refuseOtherMethods(app, `${ROOT}/SessionService`, ['GET']);

  app.get(SESSIONS, async (_req, reply) =>
    sendResource(
      reply,
      collection(
        'SessionCollection',
        SESSIONS,
        'Session Collection',
        ctx.sessions.all().map((s) => `${SESSIONS}/${s.id}`),
      ),
    ),
  );
  // Login (DSP0266 §13.3.4): 201 with the token in X-Auth-Token and the session's URI in Location.
  app.post(SESSIONS, { config: open, schema: { body: LoginBody } }, async (req, reply) => {
    const { UserName, Password } = req.body as { UserName: string; Password: string };
    if (UserName !== ctx.credentials.username || Password !== ctx.credentials.password) {
      throw Errors.noValidSession();
    }
    const s = ctx.sessions.create(UserName);
    return reply
      .code(201)
      .header('X-Auth-Token', s.token)
      .header('Location', `${SESSIONS}/${s.id}`)
      .send(sessionBody(s));
  });
  refuseOtherMethods(app, SESSIONS, ['GET', 'POST']);

  const one = `${SESSIONS}/:sessionId`;
  app.get<{ Params: { sessionId: string } }>(one, async (req, reply) => {
    const s = ctx.sessions.byId(req.params.sessionId);
    if (s === undefined) throw Errors.notFound('Session', req.params.sessionId);
    return sendResource(reply, sessionBody(s));
  });
  app.delete<{ Params: { sessionId: string } }>(one, async (req, reply) => {
    if (!ctx.sessions.delete(req.params.sessionId)) throw Errors.notFound('Session', req.params.sessionId);
    return reply.code(204).send();
  });
  refuseOtherMethods(app, one, ['GET', 'DELETE']);
}
