/**
 * The lab API: what a scenario (or a person with curl) may know and change about the lab without
 * touching its internals — nodes, their BMC endpoints and power/boot state, consoles, the event
 * trace, and faults. `buildLabApi(lab)` builds the app; `Lab.serveApi` listens.
 */
import { type Static, Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Lab, LabNode } from './lab.ts';
import { nodeChanged } from './state/index.ts';

const Faults = Type.Object(
  {
    /** BMC: added reply latency (ms), reply drop rate (0-1), no answer at all. */
    latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    dropRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    noAnswer: Type.Optional(Type.Boolean()),
    /** BMC: unreachable for this long from now, as during a BMC reset. */
    resetMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    /** BMC quirk: every boot device set through IPMI applies to the next boot only. */
    bootDeviceNotPersistent: Type.Optional(Type.Boolean()),
    /** Agent (from its next boot on): stop heartbeating after N, fail named commands or steps. */
    agentHeartbeatsStopAfter: Type.Optional(Type.Integer({ minimum: 0 })),
    agentFailCommands: Type.Optional(Type.Array(Type.String())),
    /** Agent (from its next boot on): an inspection boot never sends its data to inspector. */
    agentInspectionNeverCallsBack: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type FaultsBody = Static<typeof Faults>;

export function nodeView(lab: Lab, n: LabNode) {
  const a = n.endpoint.address;
  const disk = n.machine.disks[0]?.contents();
  return {
    name: n.name,
    backend: n.backend,
    power: n.machine.powerState(),
    bootOverride: n.machine.bootOverride(),
    lastBootDevice: n.machine.lastBootDevice ?? null,
    runState: n.machine.runState(),
    bmc: {
      ipmi: { address: a.address, port: a.port },
      redfish:
        lab.redfishUrl === undefined
          ? null
          : { url: lab.redfishUrl, systemId: `/redfish/v1/Systems/${n.name}` },
      username: n.bmc.state.users[1]?.name ?? 'admin',
      password: n.bmc.state.users[1]?.password ?? '',
    },
    macs: n.machine.spec.nics.map((x) => x.mac),
    spec: {
      cpus: n.machine.spec.cpus,
      memoryMiB: n.machine.spec.memoryMiB,
      arch: n.machine.spec.arch,
      disks: n.machine.spec.disks,
    },
    disk:
      disk === undefined ? null : { checksum: disk.checksum, sizeBytes: disk.sizeBytes, os: disk.os ?? null },
    agent: { running: n.agent !== undefined, boots: n.agentBoots },
    ipmiCommands: lab.trace.ipmiCount(n.name),
    faults: {
      ...n.endpoint.faults,
      bootDeviceNotPersistent: n.bmc.state.quirks.bootDeviceNotPersistent,
      agent: n.agentFaults ?? null,
    },
  };
}

export function buildLabApi(lab: Lab): FastifyInstance {
  const app = Fastify({ logger: false });
  const find = (name: string): LabNode | undefined => lab.node(name);
  const notFound = (name: string) => ({ error: 'not_found', message: `no node named '${name}'` });

  app.get('/v1', async () => ({
    name: 'bmlab',
    nodes: lab.nodes.length,
    httpUrl: lab.httpUrl,
    ironicUrl: lab.ironicUrl ?? null,
    images: lab.images,
  }));

  app.get('/v1/nodes', async () => ({ nodes: lab.nodes.map((n) => nodeView(lab, n)) }));

  app.get<{ Params: { name: string } }>('/v1/nodes/:name', async (req, reply) => {
    const n = find(req.params.name);
    return n === undefined ? reply.code(404).send(notFound(req.params.name)) : nodeView(lab, n);
  });

  app.get<{ Params: { name: string }; Querystring: { from?: string } }>(
    '/v1/nodes/:name/console',
    async (req, reply) => {
      const n = find(req.params.name);
      if (n === undefined) return reply.code(404).send(notFound(req.params.name));
      const from = Number(req.query.from ?? 0);
      return {
        offset: n.machine.serial.offset,
        text: n.machine.serial.text(Number.isFinite(from) ? from : 0),
      };
    },
  );

  app.get<{ Querystring: { since?: string; node?: string } }>('/v1/events', async (req) => ({
    events: lab.trace.events(req.query.node, Number(req.query.since ?? 0) || 0),
  }));

  app.get<{ Params: { name: string }; Querystring: { since?: string } }>(
    '/v1/nodes/:name/events',
    async (req, reply) => {
      const n = find(req.params.name);
      if (n === undefined) return reply.code(404).send(notFound(req.params.name));
      return { events: lab.trace.events(n.name, Number(req.query.since ?? 0) || 0) };
    },
  );

  app.put<{ Params: { name: string }; Body: FaultsBody }>(
    '/v1/nodes/:name/faults',
    { schema: { body: Faults } },
    async (req, reply) => {
      const n = find(req.params.name);
      if (n === undefined) return reply.code(404).send(notFound(req.params.name));
      const f = req.body;
      const { latencyMs, dropRate, noAnswer } = f;
      n.endpoint.setFaults({
        ...(latencyMs === undefined ? {} : { latencyMs }),
        ...(dropRate === undefined ? {} : { dropRate }),
        ...(noAnswer === undefined ? {} : { noAnswer }),
      });
      if (f.resetMs !== undefined) n.bmc.beginReset(f.resetMs);
      if (f.bootDeviceNotPersistent !== undefined)
        n.bmc.state.quirks.bootDeviceNotPersistent = f.bootDeviceNotPersistent;
      if (
        f.agentHeartbeatsStopAfter !== undefined ||
        f.agentFailCommands !== undefined ||
        f.agentInspectionNeverCallsBack !== undefined
      ) {
        n.agentFaults = {
          ...n.agentFaults,
          ...(f.agentInspectionNeverCallsBack === undefined
            ? {}
            : { inspectionNeverCallsBack: f.agentInspectionNeverCallsBack }),
          ...(f.agentHeartbeatsStopAfter === undefined
            ? {}
            : { heartbeatsStopAfter: f.agentHeartbeatsStopAfter }),
          ...(f.agentFailCommands === undefined ? {} : { failCommands: f.agentFailCommands }),
        };
      }
      lab.trace.add({
        at: Date.now(),
        node: n.name,
        kind: 'fault',
        label: 'faults set',
        detail: JSON.stringify(f),
      });
      nodeChanged(n);
      return nodeView(lab, n).faults;
    },
  );

  app.delete<{ Params: { name: string } }>('/v1/nodes/:name/faults', async (req, reply) => {
    const n = find(req.params.name);
    if (n === undefined) return reply.code(404).send(notFound(req.params.name));
    n.endpoint.setFaults({ latencyMs: 0, dropRate: 0, noAnswer: false });
    n.bmc.state.quirks.bootDeviceNotPersistent = false;
    n.agentFaults = undefined;
    lab.trace.add({ at: Date.now(), node: n.name, kind: 'fault', label: 'faults cleared' });
    nodeChanged(n);
    return nodeView(lab, n).faults;
  });

  app.get('/openapi.json', async () => OPENAPI);
  return app;
}

/** The API's description, served at /openapi.json. */
const OPENAPI = {
  openapi: '3.0.3',
  info: { title: 'bmlab lab API', version: '1' },
  paths: {
    '/v1': { get: { summary: 'The lab: node count, HTTP boot root URL, Ironic URL, deploy images' } },
    '/v1/nodes': {
      get: { summary: 'Every node: power, boot override, BMC endpoint and credentials, MACs, disk, agent' },
    },
    '/v1/nodes/{name}': { get: { summary: 'One node' } },
    '/v1/nodes/{name}/console': { get: { summary: "The node's serial console output from offset `from`" } },
    '/v1/nodes/{name}/events': {
      get: { summary: "The node's event trace (power, boot, IPMI, agent, faults) since `since` (epoch ms)" },
    },
    '/v1/events': { get: { summary: 'The event trace of all nodes (or `node`) since `since`' } },
    '/v1/nodes/{name}/faults': {
      put: {
        summary: 'Set faults',
        requestBody: { content: { 'application/json': { schema: Faults } } },
      },
      delete: { summary: 'Clear all faults' },
    },
  },
};
