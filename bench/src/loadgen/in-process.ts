// An RMCP+ session with a `Bmc` in this process, no sockets: the client side of Open Session and
// RAKP 1-4 (IPMI v2.0 §13.17-13.20) as the load generator does it over UDP, and signed, encrypted
// session frames (cipher suite 3). For benchmarks that measure bmlab's own code per request.
import { randomBytes } from 'node:crypto';
import type { Bmc } from '../../../bmc-emulator/src/index.ts';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  deriveKeys,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encryptPayload,
  integrity,
  type RakpExchange,
  ROLE_ADMIN_NAME_ONLY,
  rakp3AuthCode,
  type SessionKeys,
} from './rakp.ts';
import { decodeSession20, encodeSession20, PayloadType } from './wire.ts';

export interface Peer {
  readonly address: string;
  readonly port: number;
}

export interface InProcessSession {
  readonly managedSid: number;
  readonly keys: SessionKeys;
}

/** Frames sent to `bmc` from `peer`; the payload of each answer (a missing answer throws). */
export function exchanger(bmc: Bmc, peer: Peer): (frame: Buffer) => Promise<Buffer> {
  return async (frame) => {
    const reply = await bmc.receive(frame, peer);
    if (reply === undefined) throw new Error('the BMC did not answer');
    return decodeSession20(reply).payload;
  };
}

/** Open Session and RAKP 1-4 as an administrator, name-only lookup; throws unless RAKP 4 says 00h. */
export async function openSession(
  bmc: Bmc,
  peer: Peer,
  creds: { readonly user: string; readonly password: string },
): Promise<InProcessSession> {
  const exchange = exchanger(bmc, peer);
  const plain = (payloadType: number, payload: Buffer) =>
    encodeSession20({ payloadType, sessionId: 0, seq: 0, payload });
  const user = Buffer.from(creds.user);
  const password = Buffer.from(creds.password);
  const consoleSid = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
  const tag = consoleSid & 0x3f;
  const open = decodeOpenSessionResponse(
    await exchange(plain(PayloadType.OpenSessionRequest, encodeOpenSessionRequest(tag, consoleSid))),
  );
  const x: RakpExchange = {
    consoleSid,
    managedSid: open.managedSid,
    rm: randomBytes(16),
    rc: Buffer.alloc(0),
    guid: Buffer.alloc(0),
    role: ROLE_ADMIN_NAME_ONLY,
    user,
  };
  const rakp2 = decodeRakp2(
    await exchange(plain(PayloadType.Rakp1, encodeRakp1(tag, x.managedSid, x.rm, x.role, user))),
  );
  x.rc = rakp2.rc;
  x.guid = rakp2.guid;
  const keys = deriveKeys(password, x);
  const rakp4 = decodeRakp4(
    await exchange(plain(PayloadType.Rakp3, encodeRakp3(tag, 0, x.managedSid, rakp3AuthCode(password, x)))),
  );
  if (rakp4.status !== 0) throw new Error(`RAKP 4 status ${rakp4.status}`);
  return { managedSid: x.managedSid, keys };
}

/** An IPMI message in the session: encrypted (AES-CBC-128) and signed (HMAC-SHA1-96). */
export function sessionFrame(s: InProcessSession, seq: number, message: Buffer): Buffer {
  return encodeSession20(
    {
      payloadType: PayloadType.Ipmi,
      encrypted: true,
      sessionId: s.managedSid,
      seq,
      payload: encryptPayload(s.keys.aesKey, randomBytes(16), message),
    },
    (signed) => integrity(s.keys.k1, signed),
  );
}
