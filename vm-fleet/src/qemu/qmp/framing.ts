/**
 * QMP wire framing, pure (QEMU docs/interop/qmp-spec.rst): each message is one JSON object, QEMU ends
 * every one with CRLF, the client may send one per line. Server messages are
 *   greeting  {"QMP": {"version": ..., "capabilities": [...]}}           (qmp-spec 2.2)
 *   success   {"return": ..., "id": ...}                                  (qmp-spec 2.4.1)
 *   error     {"error": {"class": ..., "desc": ...}, "id": ...}           (qmp-spec 2.4.2)
 *   event     {"event": ..., "data": ..., "timestamp": {...}}             (qmp-spec 2.5)
 */
import { DecodeError } from '../../../../common/src/index.ts';

export type QmpId = string;

export type QmpServerMessage =
  | { readonly kind: 'greeting'; readonly version: unknown; readonly capabilities: readonly string[] }
  | { readonly kind: 'return'; readonly id: QmpId | undefined; readonly value: unknown }
  | {
      readonly kind: 'error';
      readonly id: QmpId | undefined;
      readonly errorClass: string;
      readonly desc: string;
    }
  | {
      readonly kind: 'event';
      readonly event: string;
      readonly data: Record<string, unknown>;
      readonly timestamp: { readonly seconds: number; readonly microseconds: number };
    };

/** Splits a byte stream into lines; a partial line waits for the next chunk. */
export class LineSplitter {
  #rest = '';
  push(chunk: string): string[] {
    const parts = (this.#rest + chunk).split('\n');
    this.#rest = parts.pop() ?? '';
    return parts.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  }
  /** Bytes received after the last newline. */
  get pending(): string {
    return this.#rest;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idOf(o: Record<string, unknown>): QmpId | undefined {
  const id = o['id'];
  return id === undefined ? undefined : String(id);
}

export function decodeQmpMessage(line: string): QmpServerMessage {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (cause) {
    throw new DecodeError('ERR_QMP_JSON', `QMP: not JSON: ${line.slice(0, 80)}`, { cause });
  }
  if (!isObject(o)) throw new DecodeError('ERR_QMP_SHAPE', 'QMP: message is not an object');
  const qmp = o['QMP'];
  if (isObject(qmp)) {
    const caps = Array.isArray(qmp['capabilities']) ? qmp['capabilities'].map(String) : [];
    return { kind: 'greeting', version: qmp['version'], capabilities: caps };
  }
  if ('return' in o) return { kind: 'return', id: idOf(o), value: o['return'] };
  const err = o['error'];
  if (isObject(err)) {
    return { kind: 'error', id: idOf(o), errorClass: String(err['class']), desc: String(err['desc']) };
  }
  if (typeof o['event'] === 'string') {
    const ts = isObject(o['timestamp']) ? o['timestamp'] : {};
    return {
      kind: 'event',
      event: o['event'],
      data: isObject(o['data']) ? o['data'] : {},
      timestamp: { seconds: Number(ts['seconds'] ?? 0), microseconds: Number(ts['microseconds'] ?? 0) },
    };
  }
  throw new DecodeError('ERR_QMP_SHAPE', `QMP: unknown message: ${line.slice(0, 80)}`);
}

/** One command line, newline-terminated (qmp-spec 2.3). */
export function encodeQmpCommand(
  execute: string,
  id: QmpId,
  args?: Readonly<Record<string, unknown>>,
): string {
  return `${JSON.stringify(args === undefined ? { execute, id } : { execute, arguments: args, id })}\n`;
}
