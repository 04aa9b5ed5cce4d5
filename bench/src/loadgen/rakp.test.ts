// The load generator's frames and keys checked against a real conversation: ipmitool 1.8.19 -C 3
// `power status` against pyghmi's Bmc (test/fixtures, copied from the shared captures; user admin / password).
// Everything the client computes must reproduce the captured bytes; Rm, Rc, IVs and session IDs come
// from the capture.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decryptPayload,
  deriveKeys,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encryptPayload,
  integrity,
  type RakpExchange,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
} from './rakp.ts';
import {
  Cmd,
  decodeResponse,
  decodeSession15,
  decodeSession20,
  encodeAuthCapsRequest,
  encodeSession20,
  NetFn,
  PayloadType,
} from './wire.ts';

interface Capture {
  user: string;
  password: string;
  frames: { dir: 'to_bmc' | 'from_bmc'; hex: string }[];
}

const capture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/pyghmi-cs3-power-status.json', import.meta.url), 'utf8'),
) as Capture;
// ipmitool sends a 1-byte "01" after each reply it reads (its keep-alive of the socket); skip those.
const frames = capture.frames
  .filter((f) => f.hex.length > 2)
  .map((f) => ({ ...f, buf: Buffer.from(f.hex, 'hex') }));
const frame = (i: number) => frames[i]!.buf;
const kuid = Buffer.from(capture.password);
const user = Buffer.from(capture.user);

describe('pre-session frames', () => {
  it('builds the Get Channel Authentication Capabilities request byte for byte', () => {
    expect(encodeAuthCapsRequest(0).toString('hex')).toBe(frames[0]!.hex);
  });

  it('decodes the capabilities response: cc 0, channel 1, IPMI 2.0 extended data', () => {
    const rsp = decodeResponse(decodeSession15(frame(1)));
    expect([rsp.netFn, rsp.cmd, rsp.cc]).toEqual([NetFn.App | 1, Cmd.GetChannelAuthCapabilities, 0]);
    expect(rsp.data.subarray(0, 2).toString('hex')).toBe('0180'); // channel 1, bit 7: IPMI 2.0 capable
  });
});

describe('RAKP handshake of cipher suite 3', () => {
  const open = decodeSession20(frame(2));
  const openRsp = decodeOpenSessionResponse(decodeSession20(frame(3)).payload);
  const rakp1 = decodeSession20(frame(4)).payload;
  const rakp2 = decodeRakp2(decodeSession20(frame(5)).payload);
  const rakp3 = decodeSession20(frame(6)).payload;
  const rakp4 = decodeRakp4(decodeSession20(frame(7)).payload);
  const x: RakpExchange = {
    consoleSid: openRsp.consoleSid,
    managedSid: openRsp.managedSid,
    rm: rakp1.subarray(8, 24),
    rc: rakp2.rc,
    guid: rakp2.guid,
    role: rakp1.readUInt8(24),
    user,
  };

  it('builds the Open Session Request byte for byte', () => {
    const payload = encodeOpenSessionRequest(0, open.payload.readUInt32LE(4));
    const built = encodeSession20({
      payloadType: PayloadType.OpenSessionRequest,
      sessionId: 0,
      seq: 0,
      payload,
    });
    expect(built.toString('hex')).toBe(frames[2]!.hex);
  });

  it('reads the Open Session Response: status 0 and the suite-3 algorithms', () => {
    expect(openRsp).toMatchObject({
      status: 0,
      consoleSid: 0xa0a2a3a4,
      auth: 1,
      integrity: 1,
      confidentiality: 1,
    });
  });

  it('builds RAKP 1 byte for byte', () => {
    const payload = encodeRakp1(0, x.managedSid, x.rm, x.role, user);
    const built = encodeSession20({ payloadType: PayloadType.Rakp1, sessionId: 0, seq: 0, payload });
    expect(built.toString('hex')).toBe(frames[4]!.hex);
  });

  it("recomputes the BMC's RAKP 2 auth code from Kuid", () => {
    expect(rakp2.status).toBe(0);
    expect(rakp2AuthCode(kuid, x).toString('hex')).toBe(rakp2.authCode.toString('hex'));
  });

  it('builds RAKP 3 with the captured auth code, byte for byte', () => {
    const payload = encodeRakp3(0, 0, x.managedSid, rakp3AuthCode(kuid, x));
    expect(payload.toString('hex')).toBe(rakp3.toString('hex'));
    const built = encodeSession20({ payloadType: PayloadType.Rakp3, sessionId: 0, seq: 0, payload });
    expect(built.toString('hex')).toBe(frames[6]!.hex);
  });

  it('derives the SIK that yields the captured RAKP 4 integrity check value', () => {
    const { sik } = deriveKeys(kuid, x);
    expect(rakp4.status).toBe(0);
    expect(rakp4Icv(sik, x).toString('hex')).toBe(rakp4.icv.toString('hex'));
  });

  it('verifies, decrypts and re-encrypts every session frame with K1 and K2', () => {
    const { k1, aesKey } = deriveKeys(kuid, x);
    const sessionFrames = frames.slice(8);
    expect(sessionFrames.length).toBeGreaterThan(4);
    for (const f of sessionFrames) {
      const s = decodeSession20(f.buf);
      expect(s.encrypted && s.authenticated).toBe(true);
      expect(integrity(k1, s.signed).toString('hex')).toBe(s.authCode.toString('hex'));
      const plain = decryptPayload(aesKey, s.payload);
      // Same IV, same seq: re-encoding must give the captured frame back.
      const again = encodeSession20(
        {
          payloadType: s.payloadType,
          encrypted: true,
          sessionId: s.sessionId,
          seq: s.seq,
          payload: encryptPayload(aesKey, s.payload.subarray(0, 16), plain),
        },
        (signed) => integrity(k1, signed),
      );
      expect(again.toString('hex')).toBe(f.hex);
      expect(s.sessionId).toBe(f.dir === 'to_bmc' ? x.managedSid : x.consoleSid);
    }
  });

  it('decodes the Get Chassis Status answer: power off', () => {
    const { aesKey } = deriveKeys(kuid, x);
    const answers = frames
      .slice(9)
      .filter((f) => f.dir === 'from_bmc')
      .map((f) => decodeResponse(decryptPayload(aesKey, decodeSession20(f.buf).payload)));
    const status = answers.find((r) => r.netFn === (NetFn.Chassis | 1) && r.cmd === Cmd.GetChassisStatus);
    expect(status?.cc).toBe(0);
    expect(status!.data.readUInt8(0) & 0x01).toBe(0);
  });
});
