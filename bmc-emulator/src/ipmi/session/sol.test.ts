/**
 * The SOL payload's protocol (IPMI v2.0 section 15.9) against a fake console: acks with the
 * accepted count, retransmissions typed once, output accumulated then sent with retries until
 * acknowledged, partial accepts resent, one activation at a time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultMachineSpec, InMemoryMachine, SimConsole } from '../../../../vm-fleet/src/index.ts';
import { createBmcState } from '../state.ts';
import { Reader } from '../wire/reader.ts';
import { decodeSol, encodeSol, PayloadCc, SolService } from './sol.ts';

class ConsoleMachine extends InMemoryMachine {
  readonly serial = new SimConsole();
}

function rig() {
  const machine = new ConsoleMachine(defaultMachineSpec(0));
  machine.serial.setPowered(true);
  const state = createBmcState({ name: 'node-0' });
  const sent: { id: number; p: ReturnType<typeof decodeSol> }[] = [];
  let alive = true;
  const sol = new SolService({
    state,
    machine,
    send: (id, payload) => {
      if (alive) sent.push({ id, p: decodeSol(new Reader(payload)) });
      return alive;
    },
  });
  const from = (seq: number, ack: number, accepted: number, data = '', status = 0) =>
    sol.receive(7, new Reader(encodeSol({ seq, ack, accepted, status, data: Buffer.from(data) })));
  return { machine, state, sol, sent, from, kill: () => (alive = false) };
}

describe('SOL payload', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('one activation at a time; a disabled payload is refused', () => {
    const r = rig();
    expect(r.sol.activate(7)).toBe(0);
    expect(r.sol.activate(8)).toBe(PayloadCc.AlreadyActive);
    expect(r.sol.deactivate(8)).toBe(false);
    expect(r.sol.deactivate(7)).toBe(true);
    r.state.hw.sol.enabled = false;
    expect(r.sol.activate(8)).toBe(PayloadCc.Disabled);
  });

  it('acknowledges console data with the count accepted and types a retransmission only once', () => {
    const r = rig();
    r.sol.activate(7);
    const ack = r.from(1, 0, 0, 'ls\r') as Buffer;
    expect(ack.toString('hex')).toBe('00010300'); // ack-only: seq 0, ack 1, 3 accepted, status 0
    expect(r.from(1, 0, 0, 'ls\r')?.toString('hex')).toBe('00010300');
    expect(r.machine.serial.text().match(/ls/g)).toHaveLength(1);
    expect(r.from(0, 0, 0)).toBeUndefined(); // an ack-only packet is not answered
    expect(
      r.sol.receive(
        9,
        new Reader(encodeSol({ seq: 2, ack: 0, accepted: 0, status: 0, data: Buffer.from('x') })),
      ),
    ).toBeUndefined();
  });

  it('accumulates output for the accumulate interval, sends it, retries until acked, then sends the rest', () => {
    const r = rig();
    r.state.hw.sol.accumulateInterval = 10; // 50 ms
    r.state.hw.sol.retryInterval = 10; // 100 ms
    r.sol.activate(7);
    r.machine.serial.println('abc');
    r.machine.serial.println('def');
    expect(r.sent).toHaveLength(0);
    vi.advanceTimersByTime(50);
    expect(r.sent.map((s) => [s.p.seq, s.p.data.toString()])).toEqual([[1, 'abc\r\ndef\r\n']]);
    vi.advanceTimersByTime(100);
    expect(r.sent).toHaveLength(2); // retried
    expect(r.sent[1]?.p.seq).toBe(1);
    r.machine.serial.println('ghi'); // waits behind the packet in flight
    r.from(0, 1, 5); // partial accept: "abc\r\n"
    vi.advanceTimersByTime(1);
    expect(r.sent.at(-1)?.p).toMatchObject({ seq: 2 });
    expect(r.sent.at(-1)?.p.data.toString()).toBe('def\r\nghi\r\n');
    r.from(0, 2, 10);
    vi.advanceTimersByTime(1_000);
    expect(r.sent).toHaveLength(3);
  });

  it('sends at once past the send threshold, gives up after the retry count, and ends with its session', () => {
    const r = rig();
    r.state.hw.sol.sendThreshold = 4;
    r.state.hw.sol.retryCount = 2;
    r.state.hw.sol.retryInterval = 1;
    r.sol.activate(7);
    r.machine.serial.println('hello');
    expect(r.sent).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(r.sent).toHaveLength(3); // the first send and two retries
    r.kill();
    r.machine.serial.println('more output');
    vi.advanceTimersByTime(100);
    expect(r.sol.sessionId).toBeUndefined();
  });
});
