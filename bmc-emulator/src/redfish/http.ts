/**
 * The small HTTP rules every Redfish resource shares (DSP0266 §7–§9): ETags on GET, If-Match on
 * writes (412 on mismatch), 405 with `Allow` for methods a resource lacks, and the OData
 * collection shape.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { Errors } from './errors.ts';

export const ROOT = '/redfish/v1';

export type Json = Record<string, unknown>;

/** A weak ETag over the rendered representation: it changes exactly when what a client sees changes. */
export function etagOf(body: unknown): string {
  return `W/"${createHash('sha1').update(JSON.stringify(body)).digest('hex').slice(0, 16)}"`;
}

/** Sends a resource with its ETag header. */
export function sendResource(reply: FastifyReply, body: Json): FastifyReply {
  return reply.header('ETag', etagOf(body)).send(body);
}

/**
 * DSP0266 §8.6 conditional requests: a write with If-Match must name the current ETag. Weak and
 * strong forms of the same tag both match, as BMCs that hand out weak tags accept either (sushy
 * retries a weak tag in its strong form).
 */
export function checkIfMatch(req: FastifyRequest, current: Json): void {
  const raw = req.headers['if-match'];
  if (raw === undefined) return;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  const want = opaque(etagOf(current));
  const tags = raw.split(',').map(opaque);
  if (tags.includes('*') || tags.includes(want)) return;
  throw Errors.preconditionFailed();
}

export function collection(odataType: string, id: string, name: string, members: readonly string[]): Json {
  return {
    '@odata.type': `#${odataType}.${odataType}`,
    '@odata.id': id,
    Name: name,
    'Members@odata.count': members.length,
    Members: members.map((m) => ({ '@odata.id': m })),
  };
}

export const link = (id: string) => ({ '@odata.id': id });

const ALL_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Answers 405 with `Allow` for every method `url` does not route (fastify itself would say 404).
 * Call after the resource's own routes are registered.
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  const allow = allowed.includes('GET') ? [...allowed, 'HEAD' as const] : allowed;
  const others = ALL_METHODS.filter((m) => !allow.includes(m));
  if (others.length === 0) return;
  app.route({
    method: others,
    url,
    handler: async () => {
      throw Errors.methodNotAllowed(allow);
    },
  });
}

/** A string property restricted to an enumeration, or 400 with the Base message that says why. */
export function enumProperty<T extends string>(prop: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw Errors.propertyValueTypeError(prop, value);
  if (!(allowed as readonly string[]).includes(value)) throw Errors.propertyValueNotInList(prop, value);
  return value as T;
}

/** Properties of a PATCH body that are not writable: PropertyNotWritable if the resource has them, else PropertyUnknown. */
export function refuseUnwritable(body: Json, writable: readonly string[], current: Json): void {
  for (const key of Object.keys(body)) {
    if (key.startsWith('@') || writable.includes(key)) continue;
    throw key in current ? Errors.propertyNotWritable(key) : Errors.propertyUnknown(key);
  }
}
