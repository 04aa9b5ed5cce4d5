/**
 * Live BMCs over UDP: fault hooks as the network sees them, a cold reset that really takes the
 * BMC away, and a fuzz run against one BMC while a neighbour keeps serving ipmitool; over both UDP
 * implementations (bmlab's addon, and node:dgram where the addon is not built).
 */
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/src/index.ts';
import { hasCommand, ipmitool, startBmc } from '../support/bmc.ts';
import { fromHex, loadCapture } from '../support/captures.ts';

const UDP_KINDS = ['native', 'dgram'] as const;
const ping = fromHex('0600ff06 000011be 80 01 00 00');

/** Sends one datagram, resolves to the answer or undefined after `ms`. */
async function ask(
  port: number,
  packet: Buffer,
  ms = 300,
): Promise<{ reply: Buffer | undefined; elapsed: number }> {
  const s = createSocket('udp4');
  const t0 = performance.now();
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ reply: undefined, elapsed: performance.now() - t0 }), ms);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve({ reply: m, elapsed: performance.now() - t0 });
      });
      s.send(packet, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

describe.each(UDP_KINDS)('fault hooks (%s UDP)', (udp) => {
  it('ASF presence ping is answered with a pong carrying the tag', async () => {
    const b = await startBmc({}, {}, udp);
    try {
      const { reply } = await ask(b.port, ping);
      expect(reply?.toString('hex')).toBe('0600ff06000011be40010010000011be000000008100000000000000');
    } finally {
      await b.close();
    }
  });

  it('latency delays, drop rate 1 and no-answer silence the BMC; clearing restores it', async () => {
    const b = await startBmc({}, {}, udp);
    try {
      b.endpoint.setFaults({ latencyMs: 150 });
      const slow = await ask(b.port, ping, 1_000);
      expect(slow.reply).toBeDefined();
      expect(slow.elapsed).toBeGreaterThanOrEqual(140);
      b.endpoint.setFaults({ latencyMs: 0, dropRate: 1 });
      expect((await ask(b.port, ping)).reply).toBeUndefined();
      b.endpoint.setFaults({ dropRate: 0, noAnswer: true });
      expect((await ask(b.port, ping)).reply).toBeUndefined();
      b.endpoint.setFaults({ noAnswer: false });
      expect((await ask(b.port, ping)).reply).toBeDefined();
    } finally {
      await b.close();
    }
  });

  it('a drop rate of 0.5 loses about half the replies', async () => {
    const b = await startBmc({}, {}, udp);
    try {
      b.endpoint.setFaults({ dropRate: 0.5 });
      let answered = 0;
      for (let i = 0; i < 60; i++) if ((await ask(b.port, ping, 40)).reply !== undefined) answered++;
      expect(answered).toBeGreaterThan(15);
      expect(answered).toBeLessThan(45);
    } finally {
      await b.close();
    }
  });
});

describe.skipIf(!hasCommand('ipmitool')).each(UDP_KINDS)(
  'resets and fuzzing with ipmitool watching (%s UDP)',
  (udp) => {
    it('mc reset cold: the BMC answers, goes away for its reset time, then serves again', async () => {
      const b = await startBmc({}, { coldResetMs: 1_500 }, udp);
      try {
        expect((await ipmitool(b.port, ['mc', 'reset', 'cold'])).out).toMatch(
          /Sent cold reset command to MC/,
        );
        expect((await ipmitool(b.port, ['power', 'status'])).ok).toBe(false);
        await sleep(1_600);
        expect((await ipmitool(b.port, ['power', 'status'])).out).toContain('Chassis Power is off');
      } finally {
        await b.close();
      }
    });

    it('5,000 random and mutated datagrams to one BMC: it and its neighbour keep serving', async () => {
      const victim = await startBmc({}, {}, udp);
      const neighbour = await startBmc({}, {}, udp);
      const s = createSocket('udp4');
      try {
        const random = seededRandom(7);
        const int = (n: number) => Math.floor(random() * n);
        const seeds = loadCapture('ipmisim-cs3-mc-info').frames.map((f) => fromHex(f.hex));
        const neighbourRun = ipmitool(neighbour.port, ['power', 'status']);
        for (let i = 0; i < 5_000; i++) {
          let p: Buffer;
          if (i % 3 === 0) p = Buffer.from(Array.from({ length: int(1_200) }, () => int(256)));
          else {
            p = Buffer.from(seeds[int(seeds.length)] as Buffer);
            for (let k = 0; k <= int(4); k++) p[int(p.length)] = int(256);
            if (i % 3 === 2) p = p.subarray(0, int(p.length + 1));
          }
          s.send(p, victim.port, '127.0.0.1');
          if (i % 200 === 0) await sleep(1); // let the BMC drain its socket buffer
        }
        expect((await neighbourRun).out).toContain('Chassis Power is off');
        await sleep(200);
        expect((await ipmitool(victim.port, ['power', 'on'])).ok).toBe(true);
        expect(victim.machine.powerState()).toBe('on');
        expect(victim.bmc.sessionCount()).toBeLessThanOrEqual(32);
      } finally {
        s.close();
        await victim.close();
        await neighbour.close();
      }
    });
  },
);
