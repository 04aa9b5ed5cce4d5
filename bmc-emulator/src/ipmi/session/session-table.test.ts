import { describe, expect, it } from 'vitest';
import { ManualClock, scriptedRng } from '../../../../common/src/index.ts';
import { SeqWindow, type Session15, SessionTable } from './session-table.ts';

const session = (id: number, lastActivity = 0): Session15 => ({
  kind: 'v15',
  id,
  state: 'active',
  authType: 2,
  challenge: Buffer.alloc(16),
  userId: 2,
  maxPrivilege: 4,
  privilege: 4,
  lastActivity,
  closing: false,
  context: undefined,
  inbound: new SeqWindow(1),
  outSeq: 0,
  outSeqStart: 0,
});

describe('SessionTable', () => {
  const limits = { maxSessions: 4, timeoutMs: 60_000, handshakeTimeoutMs: 10_000 };

  it('finds sessions by ID through any order of adds and deletes, and keeps to its limit', () => {
    const t = new SessionTable(limits, new ManualClock(), scriptedRng());
    for (let round = 0; round < 50; round++) {
      const ids = [1, 2, 3, 4].map((k) => round * 10 + k);
      for (const id of ids) t.add(session(id));
      expect(t.size).toBe(4);
      expect(t.hasRoom()).toBe(false);
      // Out of order, so freed slots are taken again in a different order next round.
      for (const id of [ids[2], ids[0], ids[3], ids[1]] as number[]) {
        expect(t.get(id)?.id).toBe(id);
        expect(t.delete(id)).toBe(true);
        expect(t.get(id)).toBeUndefined();
        expect(t.delete(id)).toBe(false);
      }
      expect(t.size).toBe(0);
    }
  });

  it('replaces a session added again under the same ID', () => {
    const t = new SessionTable(limits, new ManualClock(), scriptedRng());
    t.add(session(7));
    const again = session(7);
    t.add(again);
    expect(t.size).toBe(1);
    expect(t.get(7)).toBe(again);
  });

  it('sweeps only the expired sessions, and get() drops an expired one', () => {
    const clock = new ManualClock();
    const t = new SessionTable(limits, clock, scriptedRng());
    t.add(session(1, 0));
    t.add(session(2, 30_000));
    t.add(session(3, 50_000));
    clock.advance(70_000);
    t.sweep();
    expect([t.get(1), t.get(2)?.id, t.get(3)?.id]).toEqual([undefined, 2, 3]);
    clock.advance(25_000);
    expect(t.get(2)).toBeUndefined();
    expect(t.size).toBe(1);
    expect(t.activeCount()).toBe(1);
    t.clear();
    expect(t.size).toBe(0);
    t.add(session(9, clock.now()));
    expect(t.get(9)?.id).toBe(9);
  });
});
