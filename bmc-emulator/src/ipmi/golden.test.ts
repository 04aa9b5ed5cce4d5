/**
 * Golden vectors: real ipmitool 1.8.19 conversations with pyghmi's Bmc and OpenIPMI's ipmi_sim
 * (test/fixtures). In rising scope (STYLE.md section 6): (a) layer-by-layer decode with each
 * field checked, (b) encode(decode(b)) gives the same bytes, (c) RAKP auth codes, SIK/K1/K2,
 * integrity and AES payloads recomputed from the password, (d) the client's frames replayed
 * into bmlab's BMC with the peer's random numbers, comparing our answers byte for byte where
 * the protocol leaves no freedom.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, scriptedRng } from '../../../common/src/index.ts';
import { fromHex, loadCapture } from '../../../test/support/captures.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../../vm-fleet/src/index.ts';
import { Bmc } from './bmc.ts';
import { aesDecrypt } from './crypto/aes-cbc.ts';
import { authCode15 } from './crypto/auth15.ts';
import { integrityCodec } from './crypto/integrity.ts';
import {
  deriveKey,
  keyFromPassword,
  type RakpContext,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  rakpHash,
  sessionIntegrityKey,
} from './crypto/rakp.ts';
import { createBmcState } from './state.ts';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type IpmiRequest,
  type IpmiResponse,
} from './wire/message.ts';
import { Reader } from './wire/reader.ts';
import { decodeAsf, decodeRmcpHeader, encodeAsf, encodeRmcpHeader } from './wire/rmcp.ts';
import {
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  encodeOpenSessionRequest,
  encodeOpenSessionResponse,
  encodeRakp1,
  encodeRakp2,
  encodeRakp3,
  encodeRakp4,
} from './wire/rmcpplus.ts';
import { decodeSession15, encodeSession15 } from './wire/session15.ts';
import { decodeSession20, encodeSession20, type Session20, verifySession20 } from './wire/session20.ts';
import { Writer } from './wire/writer.ts';

const hex = (b: Buffer): string => b.toString('hex');
const RMCPP = [
  'pyghmi-cs3-power-status',
  'pyghmi-default-chassis-status',
  'ipmisim-cs1-mc-info',
  'ipmisim-cs2-mc-info',
  'ipmisim-cs3-mc-info',
];

/** Decodes an RMCP+ conversation and recomputes its keys from the known password. */
function openRmcpPlus(name: string) {
  const cap = loadCapture(name);
  const frames = cap.frames.map((f) => {
    const buf = fromHex(f.hex);
    const r = new Reader(buf);
    decodeRmcpHeader(r);
    return { dir: f.dir, buf, v20: buf[4] === 0x06 ? decodeSession20(r) : undefined };
  });
  const find = (pt: number) => {
    const f = frames.find((x) => x.v20?.payloadType === pt);
    if (f?.v20 === undefined) throw new Error(`${name}: no payload type ${pt}`);
    return f.v20;
  };
  const osReq = decodeOpenSessionRequest(new Reader(find(0x10).payload));
  const osRes = decodeOpenSessionResponse(new Reader(find(0x11).payload));
  const r1 = decodeRakp1(new Reader(find(0x12).payload));
  const r2 = decodeRakp2(new Reader(find(0x13).payload));
  const r3 = decodeRakp3(new Reader(find(0x14).payload));
  const r4 = decodeRakp4(new Reader(find(0x15).payload));
  const accepted = osRes.accepted;
  if (accepted === undefined || r2.bmcRandom === undefined || r2.bmcGuid === undefined)
    throw new Error('handshake failed');
  const hash = rakpHash(accepted.auth.algorithm);
  if (hash === undefined) throw new Error('no hash');
  const ctx: RakpContext = {
    hash,
    consoleSessionId: osReq.consoleSessionId,
    bmcSessionId: accepted.bmcSessionId,
    consoleRandom: r1.consoleRandom,
    bmcRandom: r2.bmcRandom,
    bmcGuid: r2.bmcGuid,
    role: r1.role,
    username: r1.username,
  };
  const kuid = keyFromPassword(Buffer.from(cap.password));
  const sik = sessionIntegrityKey(kuid, ctx);
  const k1 = deriveKey(hash, sik, 1);
  const k2 = deriveKey(hash, sik, 2);
  const integrity = integrityCodec(accepted.integrity.algorithm, k1);
  const encrypted = accepted.confidentiality.algorithm === 1;
  /** The IPMI message inside a session frame, decrypted when the suite encrypts. */
  const inner = (s: Session20): Buffer => (s.encrypted ? aesDecrypt(k2, s.payload) : s.payload);
  return {
    cap,
    frames,
    osReq,
    osRes,
    r1,
    r2,
    r3,
    r4,
    ctx,
    kuid,
    sik,
    k1,
    k2,
    integrity,
    encrypted,
    inner,
    accepted,
  };
}

describe('(a) decode, layer by layer: ipmitool -C 3 power status against pyghmi', () => {
  const c = openRmcpPlus('pyghmi-cs3-power-status');

  it('Get Channel Authentication Capabilities goes out as an IPMI v1.5 packet outside a session', () => {
    const buf = c.frames[0]?.buf as Buffer;
    const r = new Reader(buf);
    // 06 version, 00 reserved, ff no RMCP ACK, 07 class IPMI
    expect(decodeRmcpHeader(r)).toEqual({ sequence: 0xff, msgClass: 0x07, ack: false });
    const s = decodeSession15(r);
    // auth type none, seq 0, session 0, length 9
    expect([s.authType, s.seq, s.sessionId, s.message.length]).toEqual([0, 0, 0, 9]);
    const m = decodeRequest(new Reader(s.message));
    // rsSA 20h, netFn App, rqSA 81h, cmd 38h; data 8e = v2.0 data wanted + current channel, 04 = administrator
    expect([m.rsAddr, m.netFn, m.rqAddr, m.cmd, hex(m.data)]).toEqual([0x20, 0x06, 0x81, 0x38, '8e04']);
  });

  it('the BMC answers IPMI v2.0 extended capabilities', () => {
    const r = new Reader(c.frames[1]?.buf as Buffer);
    decodeRmcpHeader(r);
    const m = decodeResponse(new Reader(decodeSession15(r).message));
    // cc 00; channel 1; 80 = v2.0 data, no v1.5 auth types; 04 = non-null user names; 02 = IPMI v2.0
    expect([m.netFn, m.cmd, m.cc, hex(m.data)]).toEqual([0x07, 0x38, 0x00, '0180040200000000']);
  });

  it('Open Session proposes RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128 (cipher suite 3)', () => {
    expect(c.osReq).toEqual({
      tag: 0,
      maxPrivilege: 0, // "highest level matching the proposed algorithms"
      consoleSessionId: 0xa0a2a3a4,
      auth: { type: 0, algorithm: 1 },
      integrity: { type: 1, algorithm: 1 },
      confidentiality: { type: 2, algorithm: 1 },
    });
    expect(c.osRes.status).toBe(0);
    expect(c.osRes.maxPrivilege).toBe(4);
    expect(c.accepted.bmcSessionId).toBe(0x0bb2a41c);
  });

  it('RAKP 1 asks for administrator with a name-only lookup for "admin"', () => {
    expect(c.r1.role).toBe(0x14); // bit 4 name-only lookup, 4 = administrator
    expect(c.r1.username.toString()).toBe('admin');
    expect(c.r1.bmcSessionId).toBe(0x0bb2a41c);
  });

  it('session packets are encrypted and authenticated with the sequence counting up', () => {
    const session = c.frames.filter((f) => f.v20?.payloadType === 0 && f.dir === 'to_bmc');
    expect(session.map((f) => f.v20?.seq)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    for (const f of session) {
      expect(f.v20?.encrypted).toBe(true);
      expect(f.v20?.authenticated).toBe(true);
      expect(f.v20?.sessionId).toBe(0x0bb2a41c);
    }
  });
});

describe('(b) encode(decode(b)) gives the captured bytes', () => {
  it.each(['ipmisim-lan15-md5-mc-info', 'ipmisim-lan15-straight-mc-info'])(
    '%s (IPMI v1.5 and ASF)',
    (name) => {
      for (const f of loadCapture(name).frames) {
        const buf = fromHex(f.hex);
        const r = new Reader(buf);
        const h = decodeRmcpHeader(r);
        const w = new Writer();
        encodeRmcpHeader(h, w);
        if (h.msgClass === 0x06) {
          encodeAsf(decodeAsf(r), w);
        } else {
          const s = decodeSession15(r);
          const msg = new Writer();
          if (f.dir === 'to_bmc') encodeRequest(decodeRequest(new Reader(s.message)), msg);
          else encodeResponse(decodeResponse(new Reader(s.message)), msg);
          expect(hex(msg.finish())).toBe(hex(s.message));
          encodeSession15(s, w);
        }
        expect(hex(w.finish())).toBe(f.hex.slice(0, w.length * 2));
      }
    },
  );

  it.each(RMCPP)('%s (RMCP+ handshake and signed session packets)', (name) => {
    const c = openRmcpPlus(name);
    for (const f of c.frames) {
      const s = f.v20;
      if (s === undefined) continue;
      const w = new Writer();
      encodeRmcpHeader({ sequence: 0xff, msgClass: 0x07, ack: false }, w);
      const p = new Writer();
      const pr = new Reader(s.payload);
      switch (s.payloadType) {
        case 0x10:
          encodeOpenSessionRequest(decodeOpenSessionRequest(pr), p);
          break;
        case 0x11:
          encodeOpenSessionResponse(decodeOpenSessionResponse(pr), p);
          break;
        case 0x12:
          encodeRakp1(decodeRakp1(pr), p);
          break;
        case 0x13:
          encodeRakp2(decodeRakp2(pr), p);
          break;
        case 0x14:
          encodeRakp3(decodeRakp3(pr), p);
          break;
        case 0x15:
          encodeRakp4(decodeRakp4(pr), p);
          break;
        default:
          p.bytes(s.payload);
      }
      expect(hex(p.finish())).toBe(hex(s.payload));
      encodeSession20(s, w, s.authenticated ? c.integrity : undefined);
      expect(hex(w.finish())).toBe(hex(f.buf));
    }
  });
});

describe('(c) keys, auth codes and payloads recomputed from the password', () => {
  it.each(RMCPP)('%s: RAKP 2/3/4 codes match the peers', (name) => {
    const c = openRmcpPlus(name);
    expect(hex(rakp2AuthCode(c.kuid, c.ctx))).toBe(hex(c.r2.authCode as Buffer));
    expect(hex(rakp3AuthCode(c.kuid, c.ctx))).toBe(hex(c.r3.authCode));
    expect(hex(rakp4Icv(c.sik, c.ctx))).toBe(hex(c.r4.integrityCheck));
  });

  it.each(RMCPP)('%s: every session packet verifies and decrypts to a well-formed IPMI message', (name) => {
    const c = openRmcpPlus(name);
    const cmds: string[] = [];
    for (const f of c.frames) {
      const s = f.v20;
      if (s === undefined || s.payloadType !== 0 || s.sessionId === 0) continue;
      if (c.integrity !== undefined) expect(verifySession20(f.buf.subarray(4), s, c.integrity)).toBe(true);
      const msg = c.inner(s);
      if (f.dir === 'to_bmc') {
        const m = decodeRequest(new Reader(msg));
        cmds.push(`${m.netFn.toString(16)}/${m.cmd.toString(16)}`);
      } else {
        expect(decodeResponse(new Reader(msg)).rsAddr).toBe(0x20);
      }
    }
    // ipmitool's session always starts with Set Session Privilege Level and ends with Close Session.
    expect(cmds[0]).toBe('6/3b');
    expect(cmds.at(-1)).toBe('6/3c');
  });

  it('a corrupted byte fails integrity', () => {
    const c = openRmcpPlus('ipmisim-cs2-mc-info');
    const f = c.frames.find((x) => x.v20?.authenticated && x.dir === 'to_bmc');
    if (f?.v20 === undefined || c.integrity === undefined) throw new Error('no signed frame');
    const bad = Buffer.from(f.buf);
    bad[20] = (bad[20] as number) ^ 1;
    const r = new Reader(bad);
    decodeRmcpHeader(r);
    expect(verifySession20(bad.subarray(4), decodeSession20(r), c.integrity)).toBe(false);
  });

  it.each([
    ['ipmisim-lan15-md5-mc-info', 0x02],
    ['ipmisim-lan15-straight-mc-info', 0x04],
  ] as const)('%s: every v1.5 auth code recomputes', (name, authType) => {
    const cap = loadCapture(name);
    let checked = 0;
    for (const f of cap.frames) {
      const buf = fromHex(f.hex);
      const r = new Reader(buf);
      if (decodeRmcpHeader(r).msgClass !== 0x07) continue;
      const s = decodeSession15(r);
      if (s.authType === 0) continue;
      expect(s.authType).toBe(authType);
      const code = authCode15(s.authType, Buffer.from(cap.password), s.sessionId, s.seq, s.message);
      expect(hex(code as Buffer)).toBe(hex(s.authCode as Buffer));
      checked++;
    }
    expect(checked).toBeGreaterThan(4);
  });
});

/** Session-packet fields that are ours to choose, for replay comparisons. */
function requestsAndResponses(c: ReturnType<typeof openRmcpPlus>) {
  const out: { req: IpmiRequest; res: IpmiResponse; buf: Buffer; iv: Buffer | undefined }[] = [];
  let req: IpmiRequest | undefined;
  for (const f of c.frames) {
    const s = f.v20;
    if (s === undefined || s.payloadType !== 0 || s.sessionId === 0) continue;
    if (f.dir === 'to_bmc') req = decodeRequest(new Reader(c.inner(s)));
    else if (req !== undefined) {
      out.push({
        req,
        res: decodeResponse(new Reader(c.inner(s))),
        buf: f.buf,
        iv: s.encrypted ? s.payload.subarray(0, 16) : undefined,
      });
    }
  }
  return out;
}

describe('(d) replay: the client frames into bmlab, with the peer random numbers', () => {
  it.each(RMCPP)('%s', async (name) => {
    const c = openRmcpPlus(name);
    const exchanges = requestsAndResponses(c);
    const sid = Buffer.alloc(4);
    sid.writeUInt32LE(c.accepted.bmcSessionId);
    const ivs = exchanges.flatMap((e) => (e.iv === undefined ? [] : [Buffer.from(e.iv)]));
    const state = createBmcState({ name: 'replay', username: 'admin', password: 'password' });
    state.systemGuid = Buffer.from(c.ctx.bmcGuid);
    const bmc = new Bmc({
      state,
      machine: new InMemoryMachine(defaultMachineSpec(0)),
      clock: new ManualClock(),
      rng: scriptedRng([sid, Buffer.from(c.ctx.bmcRandom), ...ivs]),
    });
    const answers: Buffer[] = [];
    for (const f of c.frames.filter((x) => x.dir === 'to_bmc')) {
      const a = await bmc.handle(f.buf);
      if (a !== undefined) answers.push(a);
    }
    const theirs = c.frames.filter((x) => x.dir === 'from_bmc');
    expect(answers.length).toBe(theirs.length);
    for (const [i, mine] of answers.entries()) {
      const peer = theirs[i]?.buf as Buffer;
      const pt = peer[5] as number;
      if (pt === 0x13 || pt === 0x15) {
        // RAKP 2 and 4 leave no freedom once Rc, the session ID and the GUID are the same.
        expect(hex(mine)).toBe(hex(peer));
      }
    }
    // In the session: same commands answered with the same completion codes, and byte-identical
    // packets for the answers that carry no BMC-specific data.
    const mineC = {
      ...c,
      frames: answers.map((buf) => {
        const r = new Reader(buf);
        decodeRmcpHeader(r);
        return { dir: 'from_bmc' as const, buf, v20: buf[4] === 6 ? decodeSession20(r) : undefined };
      }),
    };
    let m = 0;
    for (const f of mineC.frames) {
      const s = f.v20;
      if (s === undefined || s.payloadType !== 0 || s.sessionId === 0) continue;
      const e = exchanges[m++];
      if (e === undefined) throw new Error('more answers than the peer gave');
      const ours = decodeResponse(new Reader(c.inner(s)));
      expect([ours.netFn, ours.cmd, ours.rqSeq]).toEqual([e.res.netFn, e.res.cmd, e.res.rqSeq]);
      const sameMeaning = e.req.cmd === 0x3b || e.req.cmd === 0x3c;
      if (sameMeaning) {
        expect(ours.cc).toBe(e.res.cc);
        expect(hex(f.buf)).toBe(hex(e.buf));
      }
    }
    expect(m).toBe(exchanges.length);
  });

  it('IPMI v1.5 MD5: the Activate Session answer equals ipmi_sim byte for byte', async () => {
    const cap = loadCapture('ipmisim-lan15-md5-mc-info');
    const frames = cap.frames.map((f) => fromHex(f.hex));
    // From ipmi_sim's answers: temporary session ID 5, the challenge, session ID 182h, inbound seq.
    const challengeAnswer = frames[5] as Buffer;
    const activateAnswer = frames[7] as Buffer;
    const tmp = challengeAnswer.subarray(21, 25);
    const challenge = challengeAnswer.subarray(25, 41);
    // RMCP 4 + auth type 1 + seq 4 + ID 4 + auth code 16 + length 1 + message header 6 + cc 1 + auth type 1
    const act = activateAnswer.subarray(38, 46); // session ID + initial inbound seq
    const bmc = new Bmc({
      state: createBmcState({ name: 'replay' }),
      machine: new InMemoryMachine(defaultMachineSpec(0)),
      clock: new ManualClock(),
      rng: scriptedRng([
        Buffer.from(tmp),
        Buffer.from(challenge),
        Buffer.from(act.subarray(0, 4)),
        Buffer.from(act.subarray(4, 8)),
      ]),
    });
    const answers: (Buffer | undefined)[] = [];
    for (const [i, f] of cap.frames.entries())
      if (f.dir === 'to_bmc') answers[i + 1] = await bmc.handle(frames[i] as Buffer);
    expect(hex(answers[5] as Buffer).slice(0, 50)).toBe(hex(challengeAnswer).slice(0, 50));
    expect(hex(answers[7] as Buffer)).toBe(hex(activateAnswer));
    // Every later answer is authenticated with MD5 under the session ID ipmi_sim gave.
    for (const i of [9, 11]) {
      const r = new Reader(answers[i] as Buffer);
      decodeRmcpHeader(r);
      const s = decodeSession15(r);
      expect(s.authType).toBe(0x02);
      expect(hex(authCode15(2, Buffer.from('password'), s.sessionId, s.seq, s.message) as Buffer)).toBe(
        hex(s.authCode as Buffer),
      );
    }
  });
});
