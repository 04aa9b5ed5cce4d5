/**
 * RMCP+ session establishment payloads (IPMI v2.0 section 13.17-13.23):
 * Open Session Request/Response (tables 13-9, 13-10) and RAKP Messages 1-4 (tables 13-11..13-14).
 * Status codes are table 13-15.
 */
import { DecodeError } from '../../../../common/src/index.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/** RMCP+ and RAKP message status codes (table 13-15). */
export const RakpStatus = {
  Ok: 0x00,
  InsufficientResources: 0x01,
  InvalidSessionId: 0x02,
  InvalidPayloadType: 0x03,
  InvalidAuthAlgorithm: 0x04,
  InvalidIntegrityAlgorithm: 0x05,
  NoMatchingAuthPayload: 0x06,
  NoMatchingIntegrityPayload: 0x07,
  InactiveSessionId: 0x08,
  InvalidRole: 0x09,
  UnauthorizedRole: 0x0a,
  InsufficientResourcesForRole: 0x0b,
  InvalidNameLength: 0x0c,
  UnauthorizedName: 0x0d,
  UnauthorizedGuid: 0x0e,
  InvalidIntegrityCheckValue: 0x0f,
  InvalidConfidentialityAlgorithm: 0x10,
  NoCipherSuiteMatch: 0x11,
  IllegalParameter: 0x12,
} as const;

/** One algorithm proposal: payload type byte (0 auth, 1 integrity, 2 confidentiality) + algorithm. */
export interface AlgorithmPayload {
  readonly type: number;
  readonly algorithm: number;
}

export interface OpenSessionRequest {
  readonly tag: number;
  readonly maxPrivilege: number;
  readonly consoleSessionId: number;
  readonly auth: AlgorithmPayload;
  readonly integrity: AlgorithmPayload;
  readonly confidentiality: AlgorithmPayload;
}

function decodeAlgorithm(r: Reader, expectType: number): AlgorithmPayload {
  const type = r.u8('algorithm payload type');
  r.u16le('reserved');
  const len = r.u8('algorithm payload length');
  // A zero-length payload means "any algorithm the BMC chooses" (13.17, "null" proposal) — not
  // something ipmitool sends; reject it with a clear status instead of guessing.
  if (type !== expectType || len !== 8) {
    throw new DecodeError('ERR_RMCPP_ALGORITHM', `algorithm payload ${type}/${len}, want ${expectType}/8`);
  }
  const algorithm = r.u8('algorithm') & 0x3f;
  r.bytes(3, 'reserved');
  return { type, algorithm };
}

function encodeAlgorithm(a: AlgorithmPayload, w: Writer): void {
  w.u8(a.type).u16le(0).u8(8).u8(a.algorithm).u8(0).u16le(0);
}

export function decodeOpenSessionRequest(r: Reader): OpenSessionRequest {
  const tag = r.u8('tag');
  const maxPrivilege = r.u8('max privilege') & 0x0f;
  r.u16le('reserved');
  const consoleSessionId = r.u32le('console session id');
  return {
    tag,
    maxPrivilege,
    consoleSessionId,
    auth: decodeAlgorithm(r, 0),
    integrity: decodeAlgorithm(r, 1),
    confidentiality: decodeAlgorithm(r, 2),
  };
}

export function encodeOpenSessionRequest(m: OpenSessionRequest, w: Writer): void {
  w.u8(m.tag).u8(m.maxPrivilege).u16le(0).u32le(m.consoleSessionId);
  encodeAlgorithm(m.auth, w);
  encodeAlgorithm(m.integrity, w);
  encodeAlgorithm(m.confidentiality, w);
}

export const encodedLengthOpenSessionRequest = (): number => 32;

export interface OpenSessionResponse {
  readonly tag: number;
  readonly status: number;
  readonly maxPrivilege: number;
  readonly consoleSessionId: number;
  /** Present only when status is Ok. */
  readonly accepted?: {
    readonly bmcSessionId: number;
    readonly auth: AlgorithmPayload;
    readonly integrity: AlgorithmPayload;
    readonly confidentiality: AlgorithmPayload;
  };
}

export function encodeOpenSessionResponse(m: OpenSessionResponse, w: Writer): void {
  w.u8(m.tag).u8(m.status).u8(m.maxPrivilege).u8(0).u32le(m.consoleSessionId);
  if (m.accepted !== undefined) {
    w.u32le(m.accepted.bmcSessionId);
    encodeAlgorithm(m.accepted.auth, w);
    encodeAlgorithm(m.accepted.integrity, w);
    encodeAlgorithm(m.accepted.confidentiality, w);
  }
}

export const encodedLengthOpenSessionResponse = (m: OpenSessionResponse): number =>
  m.accepted === undefined ? 8 : 36;

export function decodeOpenSessionResponse(r: Reader): OpenSessionResponse {
  const tag = r.u8('tag');
  const status = r.u8('status');
  const maxPrivilege = r.u8('max privilege') & 0x0f;
  r.u8('reserved');
  const consoleSessionId = r.u32le('console session id');
  if (status !== RakpStatus.Ok || r.remaining === 0) return { tag, status, maxPrivilege, consoleSessionId };
  const bmcSessionId = r.u32le('bmc session id');
  return {
    tag,
    status,
    maxPrivilege,
    consoleSessionId,
    accepted: {
      bmcSessionId,
      auth: decodeAlgorithm(r, 0),
      integrity: decodeAlgorithm(r, 1),
      confidentiality: decodeAlgorithm(r, 2),
    },
  };
}

/** RAKP Message 1 (table 13-11). `role` is the whole byte: bit 4 name-only lookup, 3:0 privilege. */
export interface Rakp1 {
  readonly tag: number;
  readonly bmcSessionId: number;
  readonly consoleRandom: Buffer;
  readonly role: number;
  readonly username: Buffer;
}

export function decodeRakp1(r: Reader): Rakp1 {
  const tag = r.u8('tag');
  r.bytes(3, 'reserved');
  const bmcSessionId = r.u32le('bmc session id');
  const consoleRandom = r.bytes(16, 'console random');
  const role = r.u8('role');
  r.u16le('reserved');
  const len = r.u8('username length');
  if (len > 16) throw new DecodeError('ERR_RMCPP_NAME', `user name length ${len} exceeds 16`);
  return { tag, bmcSessionId, consoleRandom, role, username: r.bytes(len, 'username') };
}

export function encodeRakp1(m: Rakp1, w: Writer): void {
  w.u8(m.tag).fill(0, 3).u32le(m.bmcSessionId).bytes(m.consoleRandom).u8(m.role).u16le(0);
  w.u8(m.username.length).bytes(m.username);
}

export const encodedLengthRakp1 = (m: Rakp1): number => 28 + m.username.length;

/** RAKP Message 2 (table 13-12). On error only tag, status and console session ID are sent. */
export interface Rakp2 {
  readonly tag: number;
  readonly status: number;
  readonly consoleSessionId: number;
  readonly bmcRandom?: Buffer;
  readonly bmcGuid?: Buffer;
  readonly authCode?: Buffer;
}

export function encodeRakp2(m: Rakp2, w: Writer): void {
  w.u8(m.tag).u8(m.status).u16le(0).u32le(m.consoleSessionId);
  if (m.bmcRandom !== undefined && m.bmcGuid !== undefined) {
    w.bytes(m.bmcRandom)
      .bytes(m.bmcGuid)
      .bytes(m.authCode ?? Buffer.alloc(0));
  }
}

export function decodeRakp2(r: Reader): Rakp2 {
  const tag = r.u8('tag');
  const status = r.u8('status');
  r.u16le('reserved');
  const consoleSessionId = r.u32le('console session id');
  if (status !== RakpStatus.Ok) return { tag, status, consoleSessionId };
  return {
    tag,
    status,
    consoleSessionId,
    bmcRandom: r.bytes(16, 'bmc random'),
    bmcGuid: r.bytes(16, 'bmc guid'),
    authCode: r.rest(),
  };
}

/** RAKP Message 3 (table 13-13). */
export interface Rakp3 {
  readonly tag: number;
  readonly status: number;
  readonly bmcSessionId: number;
  readonly authCode: Buffer;
}

export function decodeRakp3(r: Reader): Rakp3 {
  const tag = r.u8('tag');
  const status = r.u8('status');
  r.u16le('reserved');
  const bmcSessionId = r.u32le('bmc session id');
  return { tag, status, bmcSessionId, authCode: r.rest() };
}

export function encodeRakp3(m: Rakp3, w: Writer): void {
  w.u8(m.tag).u8(m.status).u16le(0).u32le(m.bmcSessionId).bytes(m.authCode);
}

/** RAKP Message 4 (table 13-14). */
export interface Rakp4 {
  readonly tag: number;
  readonly status: number;
  readonly consoleSessionId: number;
  readonly integrityCheck: Buffer;
}

export function encodeRakp4(m: Rakp4, w: Writer): void {
  w.u8(m.tag).u8(m.status).u16le(0).u32le(m.consoleSessionId).bytes(m.integrityCheck);
}

export function decodeRakp4(r: Reader): Rakp4 {
  const tag = r.u8('tag');
  const status = r.u8('status');
  r.u16le('reserved');
  const consoleSessionId = r.u32le('console session id');
  return { tag, status, consoleSessionId, integrityCheck: r.rest() };
}
