import { LOOKUP_ALLOWED_STATES } from '../states.ts';
import type { NodeRecord } from '../store/records.ts';
import { type App, type AppDeps, findNode, isUuid } from './app.ts';
import { ApiError } from './errors.ts';
import { normalizeMac } from './ports.ts';
import { HeartbeatBody, IdentParams } from './schemas.ts';
import { Minor } from './versions.ts';

/** ramdisk.py `config()` with the defaults of the reference ironic.conf. */
function agentConfig(token: unknown) {
  return {
    metrics: {
      backend: 'noop',
      prepend_host: false,
      prepend_uuid: false,
      prepend_host_reverse: true,
      global_prefix: null,
    },
    metrics_statsd: { statsd_host: 'localhost', statsd_port: 8125 },
    heartbeat_timeout: 300,
    agent_token: typeof token === 'string' ? token : null,
    agent_token_required: true,
    disable_deep_image_inspection: false,
    permitted_image_formats: ['raw', 'qcow2', 'iso'],
  };
}

/** The node part of a lookup answer (ramdisk.py _LOOKUP_RETURN_FIELDS). */
function lookupNodeView(n: NodeRecord) {
  return {
    uuid: n.uuid,
    properties: n.properties,
    instance_info: n.instance_info,
    driver_internal_info: {
      ...n.driver_internal_info,
      ...(n.driver_internal_info['agent_secret_token'] ? { agent_secret_token: '******' } : {}),
    },
  };
}

/**
 * The unauthenticated ramdisk endpoints (api/controllers/v1/ramdisk.py): lookup by MAC or node UUID,
 * only in states where the conductor expects an agent; heartbeat with Ironic's checks.
 */
export function registerRamdiskRoutes(app: App, deps: AppDeps): void {
  const { store, conductor } = deps;

  app.get<{ Querystring: { addresses?: string; node_uuid?: string } }>('/v1/lookup', async (req) => {
    if (req.apiVersion.minor < Minor.RAMDISK_ENDPOINTS) throw ApiError.notFound();
    const { addresses, node_uuid } = req.query;
    if (node_uuid !== undefined && !isUuid(node_uuid))
      throw ApiError.badRequest(`Expected UUID for node_uuid: ${node_uuid}`);
    const macs = (addresses ?? '')
      .split(',')
      .map((a) => normalizeMac(a.trim()))
      .filter((m): m is string => m !== undefined);
    if (macs.length === 0 && !node_uuid) {
      throw ApiError.badRequest(
        "At least one of 'addresses' and 'node_uuid' parameters is required",
        'IncompleteLookup',
      );
    }
    let node: NodeRecord | undefined;
    if (node_uuid) {
      node = store.getNode(node_uuid.toLowerCase());
    } else {
      // Node.get_by_port_addresses: the addresses must all belong to one node.
      const owners = new Set(
        macs.map((m) => store.getPortByAddress(m)?.node_uuid).filter((u): u is string => !!u),
      );
      if (owners.size === 1) node = store.getNode([...owners][0]!);
    }
    if (!node || !(LOOKUP_ALLOWED_STATES as readonly string[]).includes(node.provision_state)) {
      throw ApiError.notFound();
    }
    const found = req.apiVersion.minor >= Minor.AGENT_TOKEN ? conductor.nodeWithToken(node.uuid) : node;
    return {
      node: lookupNodeView(found),
      config: agentConfig(found.driver_internal_info['agent_secret_token']),
    };
  });

  app.post(
    '/v1/heartbeat/:ident',
    { schema: { params: IdentParams, body: HeartbeatBody }, config: { schemaName: 'heartbeat' } },
    async (req, reply) => {
      const v = req.apiVersion.minor;
      if (v < Minor.RAMDISK_ENDPOINTS) throw ApiError.notFound();
      const b = req.body;
      if (b.agent_version !== undefined && v < Minor.AGENT_VERSION_HEARTBEAT) {
        throw ApiError.badRequest('Field "agent_version" not recognised');
      }
      if (
        (b.agent_status !== undefined || b.agent_status_message !== undefined) &&
        v < Minor.STATUS_IN_HEARTBEAT
      ) {
        throw ApiError.badRequest('Fields "agent_status" and "agent_status_message" not recognised.');
      }
      if (b.agent_verify_ca !== undefined && v < Minor.VERIFY_CA_IN_HEARTBEAT) {
        throw ApiError.badRequest('Field "agent_verify_ca" not recognised in this version');
      }
      const node = findNode(store, req.params.ident);
      const agentUrl = node.driver_internal_info['agent_url'];
      if (agentUrl !== undefined && agentUrl !== null && agentUrl !== b.callback_url) {
        throw ApiError.badRequest('Detected change in ramdisk provided "callback_url"', 'Invalid');
      }
      if (b.agent_token === undefined)
        throw ApiError.badRequest('Agent token is required for heartbeat processing.');
      if (b.agent_status !== undefined && !['start', 'end', 'error'].includes(b.agent_status)) {
        throw ApiError.badRequest('Agent status is invalid. Valid states are start,end,error.');
      }
      conductor.heartbeat(node.uuid, b);
      return reply.code(202).send();
    },
  );
}
