import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../common/src/index.ts';
import {
  Cmd,
  checksum,
  decodeResponse,
  decodeSession20,
  encodeRequest,
  encodeSession20,
  NetFn,
} from './wire.ts';

describe('IPMI LAN messages (figure 13-4)', () => {
  it('builds Get Chassis Status with both checksums', () => {
    const msg = encodeRequest({ netFn: NetFn.Chassis, cmd: Cmd.GetChassisStatus, rqSeq: 5 });
    // rsSA 20, netFn 00 << 2, chk e0 | rqSA 81, rqSeq 5 << 2, cmd 01, chk 6a
    expect(msg.toString('hex')).toBe('2000e08114016a');
    expect(checksum(msg, 0, 3)).toBe(0);
    expect(checksum(msg, 3, msg.length)).toBe(0);
  });

  it('decodes a response and rejects a corrupted one with a typed error', () => {
    // rqSA 81, netFn 01 << 2, chk 7b | rsSA 20, rqSeq 5 << 2, cmd 01, cc 00, data 01 00 00, chk
    const rsp = Buffer.from('81047b2014010001000000', 'hex');
    rsp.writeUInt8(checksum(rsp, 3, rsp.length - 1), rsp.length - 1);
    expect(decodeResponse(rsp)).toMatchObject({ netFn: 1, rqSeq: 5, cmd: 1, cc: 0 });
    expect(decodeResponse(rsp).data.toString('hex')).toBe('010000');
    rsp.writeUInt8(0x02, 7);
    expect(() => decodeResponse(rsp)).toThrow(DecodeError);
    expect(() => decodeResponse(rsp.subarray(0, 5))).toThrow(/need 8/);
  });
});

describe('IPMI 2.0 session frames (table 13-8)', () => {
  const sign = (signed: Buffer) => Buffer.alloc(12, signed.length);

  it('pads the signed part to a multiple of 4 and round-trips', () => {
    for (let len = 1; len <= 9; len++) {
      const payload = Buffer.alloc(len, 0xab);
      const frame = encodeSession20({ payloadType: 0, sessionId: 0x01020304, seq: 7, payload }, sign);
      const s = decodeSession20(frame);
      expect(s.signed.length % 4).toBe(0);
      expect(s.payload.toString('hex')).toBe(payload.toString('hex'));
      expect(s.authCode.toString('hex')).toBe(sign(s.signed).toString('hex'));
      expect([s.sessionId, s.seq, s.authenticated, s.encrypted]).toEqual([0x01020304, 7, true, false]);
    }
  });

  it('rejects truncated frames and a wrong next header', () => {
    const frame = encodeSession20({ payloadType: 0, sessionId: 1, seq: 1, payload: Buffer.alloc(5) }, sign);
    for (let cut = 0; cut < frame.length; cut++) {
      expect(() => decodeSession20(frame.subarray(0, cut))).toThrow(DecodeError);
    }
    const bad = Buffer.from(frame);
    bad.writeUInt8(0x06, bad.length - 13);
    expect(() => decodeSession20(bad)).toThrow(/integrity pad/);
  });
});
