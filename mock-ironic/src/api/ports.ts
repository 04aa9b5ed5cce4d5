import { randomUUID } from 'node:crypto';
import { isoTime, type JsonObject, type PortRecord } from '../store/records.ts';
import { type App, type AppDeps, baseUrl, findNode, isUuid } from './app.ts';
import { ApiError } from './errors.ts';
import { PortCreateBody } from './schemas.ts';
import { PORT_DEFAULT_FIELDS, PORT_FIELDS, parseFields, pick, portView } from './views.ts';

const MAC_RE = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;

/** utils.validate_and_normalize_mac: lower case, colons. */
export function normalizeMac(mac: string): string | undefined {
  return MAC_RE.test(mac) ? mac.toLowerCase().replaceAll('-', ':') : undefined;
}

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(String(v).toLowerCase());
}

type PortQuery = { node?: string; node_uuid?: string; address?: string; fields?: string; detail?: string };

export function registerPortRoutes(app: App, deps: AppDeps): void {
  const { store } = deps;

  /** port.py post(): node_uuid must be a UUID (args.uuid), an unknown node is a 400 NodeNotFound. */
  app.post(
    '/v1/ports',
    { schema: { body: PortCreateBody }, config: { schemaName: 'port' } },
    async (req, reply) => {
      const b = req.body;
      if (!isUuid(b.node_uuid)) throw ApiError.badRequest(`Expected UUID for node_uuid: ${b.node_uuid}`);
      const address = normalizeMac(b.address);
      if (!address) throw ApiError.badRequest(`Expected valid MAC address for address: ${b.address}`);
      if (b.uuid && !isUuid(b.uuid)) throw ApiError.badRequest(`Expected UUID for uuid: ${b.uuid}`);
      const node = store.getNode(b.node_uuid.toLowerCase());
      if (!node) throw new ApiError(400, `Node ${b.node_uuid} could not be found.`, 'NodeNotFound');
      if (store.getPortByAddress(address)) {
        throw ApiError.conflict(`A port with MAC address ${address} already exists.`, 'MACAlreadyExists');
      }
      const port: PortRecord = {
        uuid: (b.uuid ?? randomUUID()).toLowerCase(),
        address,
        node_uuid: node.uuid,
        extra: (b.extra as JsonObject | null | undefined) ?? {},
        local_link_connection: (b.local_link_connection as JsonObject | null | undefined) ?? {},
        pxe_enabled: bool(b.pxe_enabled, true),
        physical_network: b.physical_network ?? null,
        is_smartnic: bool(b.is_smartnic, false),
        name: null,
        portgroup_uuid: b.portgroup_uuid ?? null,
        internal_info: {},
        created_at: isoTime(Date.now()),
        updated_at: null,
      };
      store.insertPort(port);
      const base = baseUrl(deps, req);
      void reply.code(201).header('Location', `${base}/v1/ports/${port.uuid}`);
      return portView(base, port);
    },
  );

  const list = (q: PortQuery, base: string, detail: boolean, nodeUuid?: string) => {
    const fields = parseFields(q.fields, PORT_FIELDS);
    if (fields && detail)
      throw ApiError.badRequest('Can not specify ?detail=True and fields in the same request.');
    let filterNode = nodeUuid;
    if (filterNode === undefined && q.node !== undefined) filterNode = findNode(store, q.node).uuid;
    if (filterNode === undefined && q.node_uuid !== undefined) filterNode = findNode(store, q.node_uuid).uuid;
    let ports = store.listPorts(filterNode);
    if (q.address !== undefined) {
      const mac = normalizeMac(q.address);
      ports = ports.filter((p) => p.address === mac);
    }
    return {
      ports: ports.map((p) => {
        const v = portView(base, p);
        if (fields) return pick(v, fields);
        return detail ? v : pick(v, [...PORT_DEFAULT_FIELDS, 'links']);
      }),
    };
  };

  app.get<{ Querystring: PortQuery }>('/v1/ports', async (req) =>
    list(req.query, baseUrl(deps, req), ['1', 'true', 'True'].includes(req.query.detail ?? '')),
  );
  app.get<{ Querystring: PortQuery }>('/v1/ports/detail', async (req) =>
    list(req.query, baseUrl(deps, req), true),
  );
  app.get<{ Params: { ident: string }; Querystring: PortQuery }>('/v1/nodes/:ident/ports', async (req) =>
    list(req.query, baseUrl(deps, req), false, findNode(store, req.params.ident).uuid),
  );
  app.get<{ Params: { ident: string }; Querystring: PortQuery }>(
    '/v1/nodes/:ident/ports/detail',
    async (req) => list(req.query, baseUrl(deps, req), true, findNode(store, req.params.ident).uuid),
  );

  const findPort = (ident: string): PortRecord => {
    const port = isUuid(ident) ? store.getPort(ident.toLowerCase()) : undefined;
    if (!port) throw ApiError.portNotFound(ident);
    return port;
  };

  app.get<{ Params: { ident: string }; Querystring: { fields?: string } }>(
    '/v1/ports/:ident',
    async (req) => {
      const v = portView(baseUrl(deps, req), findPort(req.params.ident));
      const fields = parseFields(req.query.fields, PORT_FIELDS);
      return fields ? pick(v, fields) : v;
    },
  );

  app.delete<{ Params: { ident: string } }>('/v1/ports/:ident', async (req, reply) => {
    const port = findPort(req.params.ident);
    const node = store.getNode(port.node_uuid);
    if (node?.reservation) throw ApiError.nodeLocked(node.uuid, node.reservation);
    store.deletePort(port.uuid);
    return reply.code(204).send();
  });
}
