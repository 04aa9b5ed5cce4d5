import { describe, expect, it } from 'vitest';
import { DecodeError, seededRandom } from '../../../common/src/index.ts';
import { decodeTftp, encodedLengthTftp, encodeTftp, nextBlock, type TftpPacket } from './packet.ts';

const hex = (b: Buffer) => b.toString('hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

describe('TFTP codec', () => {
  it('decodes an RRQ with RFC 2347 options, names lower-cased', () => {
    const wire = Buffer.from(
      [
        '0001', // opcode RRQ
        ascii('undionly.kpxe'),
        '00',
        ascii('octet'),
        '00',
        ascii('BLKSIZE'),
        '00',
        ascii('1468'),
        '00', // RFC 2348
        ascii('tsize'),
        '00',
        ascii('0'),
        '00', // RFC 2349
      ].join(''),
      'hex',
    );
    expect(decodeTftp(wire)).toEqual({
      op: 'rrq',
      filename: 'undionly.kpxe',
      mode: 'octet',
      options: [
        ['blksize', '1468'],
        ['tsize', '0'],
      ],
    });
  });

  it('encodes DATA, ACK, ERROR and OACK as RFC 1350 figures 5-2..5-4 and RFC 2347 show', () => {
    expect(hex(encodeTftp({ op: 'data', block: 1, data: Buffer.from('hi') }))).toBe(`00030001${ascii('hi')}`);
    expect(hex(encodeTftp({ op: 'ack', block: 65535 }))).toBe('0004ffff');
    expect(hex(encodeTftp({ op: 'error', code: 1, message: 'file not found' }))).toBe(
      `00050001${ascii('file not found')}00`,
    );
    expect(hex(encodeTftp({ op: 'oack', options: [['tsize', '42']] }))).toBe(
      `0006${ascii('tsize')}00${ascii('42')}00`,
    );
  });

  const samples: TftpPacket[] = [
    { op: 'rrq', filename: 'pxelinux.cfg/52-54-00-00-00-01', mode: 'netascii', options: [] },
    { op: 'wrq', filename: 'x', mode: 'octet', options: [['timeout', '3']] },
    { op: 'data', block: 7, data: Buffer.alloc(0) },
    { op: 'data', block: 0, data: Buffer.from([0, 1, 2, 255]) },
    { op: 'ack', block: 0 },
    { op: 'error', code: 8, message: '' },
    {
      op: 'oack',
      options: [
        ['blksize', '1468'],
        ['tsize', '1000'],
      ],
    },
  ];
  it.each(samples)('round-trips $op and agrees with encodedLength', (p) => {
    const b = encodeTftp(p);
    expect(b.length).toBe(encodedLengthTftp(p));
    expect(hex(encodeTftp(decodeTftp(b)))).toBe(hex(b));
  });

  it('throws typed errors for truncated and unknown packets', () => {
    const cases: [string, string][] = [
      ['00', 'ERR_TFTP_SHORT'],
      ['0009', 'ERR_TFTP_OPCODE'],
      [`0001${ascii('file')}`, 'ERR_TFTP_UNTERMINATED'],
      ['000400', 'ERR_TFTP_SHORT'],
      [`0006${ascii('blksize')}00${ascii('8')}`, 'ERR_TFTP_UNTERMINATED'],
    ];
    for (const [h, code] of cases) {
      expect(() => decodeTftp(Buffer.from(h, 'hex'))).toThrow(expect.objectContaining({ code }));
    }
  });

  it('fuzz: random bytes decode or throw DecodeError, nothing else', () => {
    const rnd = seededRandom(1350);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 24);
      const b = Buffer.from(
        Array.from({ length: len }, (_, j) =>
          j < 2 && rnd() < 0.8 ? (j === 0 ? 0 : 1 + Math.floor(rnd() * 6)) : Math.floor(rnd() * 256),
        ),
      );
      try {
        decodeTftp(b);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });

  it('wraps block numbers after 65535', () => {
    expect(nextBlock(65535)).toBe(0);
    expect(nextBlock(0)).toBe(1);
  });
});
