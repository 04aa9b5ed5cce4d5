import { describe, expect, it } from 'vitest';
import { StateError } from '../../../../common/src/index.ts';
import {
  QmpClient,
  QmpCommandError,
  QmpDisconnectedError,
  type QmpEvent,
  type QmpTransport,
} from './client.ts';
import { decodeQmpMessage, encodeQmpCommand, LineSplitter } from './framing.ts';

/** A QEMU monitor on the other end of a fake pipe (qemu python tests/protocol.py NullProtocol). */
class FakeTransport implements QmpTransport {
  readonly written: string[] = [];
  #data: ((c: string) => void) | undefined;
  #close: ((e?: Error) => void) | undefined;
  closed = false;
  write(data: string): void {
    this.written.push(data);
  }
  onData(l: (c: string) => void): void {
    this.#data = l;
  }
  onClose(l: (e?: Error) => void): void {
    this.#close = l;
  }
  close(): void {
    this.hangUp();
  }
  send(obj: unknown): void {
    this.#data?.(`${JSON.stringify(obj)}\r\n`);
  }
  sendRaw(s: string): void {
    this.#data?.(s);
  }
  hangUp(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.#close?.(err);
  }
  lastId(): string {
    const last = this.written.at(-1);
    if (last === undefined) throw new Error('nothing written');
    return (JSON.parse(last) as { id: string }).id;
  }
}

const greeting = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: ['oob'] } };
const tick = () => new Promise((r) => setImmediate(r));

async function connected(): Promise<{ client: QmpClient; t: FakeTransport; states: string[] }> {
  const client = new QmpClient();
  const states: string[] = [client.state];
  client.onStateChange((s) => states.push(s));
  const t = new FakeTransport();
  const done = client.connect(t);
  t.send(greeting);
  await tick();
  t.send({ return: {}, id: t.lastId() });
  await done;
  return { client, t, states };
}

describe('QMP framing', () => {
  it('splits CRLF lines across chunks and keeps a partial line', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\r\n{"b"')).toEqual(['{"a":1}']);
    expect(s.pending).toBe('{"b"');
    expect(s.push(':2}\r\n\r\n')).toEqual(['{"b":2}']);
  });

  it('decodes the four server message kinds', () => {
    expect(decodeQmpMessage(JSON.stringify(greeting))).toEqual({
      kind: 'greeting',
      version: greeting.QMP.version,
      capabilities: ['oob'],
    });
    expect(decodeQmpMessage('{"return": {"status": "running"}, "id": "bmlab-3"}')).toEqual({
      kind: 'return',
      id: 'bmlab-3',
      value: { status: 'running' },
    });
    expect(decodeQmpMessage('{"error": {"class": "GenericError", "desc": "nope"}, "id": "x"}')).toEqual({
      kind: 'error',
      id: 'x',
      errorClass: 'GenericError',
      desc: 'nope',
    });
    expect(
      decodeQmpMessage(
        '{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}',
      ),
    ).toEqual({
      kind: 'event',
      event: 'SHUTDOWN',
      data: { guest: true, reason: 'guest-shutdown' },
      timestamp: { seconds: 1700000000, microseconds: 5 },
    });
  });

  it('rejects garbage with typed decode errors', () => {
    expect(() => decodeQmpMessage('not json')).toThrow(expect.objectContaining({ code: 'ERR_QMP_JSON' }));
    expect(() => decodeQmpMessage('[1]')).toThrow(expect.objectContaining({ code: 'ERR_QMP_SHAPE' }));
    expect(() => decodeQmpMessage('{"hello": 1}')).toThrow(
      expect.objectContaining({ code: 'ERR_QMP_SHAPE' }),
    );
  });

  it('encodes one command per line, arguments only when given', () => {
    expect(encodeQmpCommand('quit', 'bmlab-1')).toBe('{"execute":"quit","id":"bmlab-1"}\n');
    expect(
      encodeQmpCommand('qom-set', 'i', {
        path: '/machine/peripheral/disk0',
        property: 'bootindex',
        value: 1,
      }),
    ).toBe(
      '{"execute":"qom-set","arguments":{"path":"/machine/peripheral/disk0","property":"bootindex","value":1},"id":"i"}\n',
    );
  });
});

describe('QmpClient', () => {
  it('walks idle → greeting → negotiating → running, sending only qmp_capabilities first', async () => {
    const { client, t, states } = await connected();
    expect(states).toEqual(['idle', 'greeting', 'negotiating', 'running']);
    expect(t.written).toEqual(['{"execute":"qmp_capabilities","id":"bmlab-1"}\n']);
    expect(client.state).toBe('running');
  });

  it('refuses commands before negotiation finished (requireState)', async () => {
    const client = new QmpClient();
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(StateError);
    const t = new FakeTransport();
    const done = client.connect(t);
    await expect(client.execute('query-status')).rejects.toMatchObject({
      state: 'greeting',
      required: ['running'],
    });
    expect(() => client.requireState('idle')).toThrow(StateError);
    t.hangUp();
    await expect(done).rejects.toBeInstanceOf(QmpDisconnectedError);
  });

  it('matches answers to calls by id, out of order, and maps error objects to QmpCommandError', async () => {
    const { client, t } = await connected();
    const a = client.execute('query-status');
    const idA = t.lastId();
    const b = client.execute('qom-set', {
      path: '/machine/peripheral/nic0',
      property: 'bootindex',
      value: 1,
    });
    const idB = t.lastId();
    t.sendRaw(
      `{"error": {"class": "GenericError", "desc": "The bootindex 1 has already been used"}, "id": "${idB}"}\r\n{"return": {"status": "run`,
    );
    t.sendRaw(`ning", "running": true}, "id": "${idA}"}\r\n`);
    await expect(a).resolves.toEqual({ status: 'running', running: true });
    const err = await b.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({ errorClass: 'GenericError', code: 'ERR_QMP_COMMAND' });
  });

  it('delivers events to listeners between answers', async () => {
    const { client, t } = await connected();
    const events: QmpEvent[] = [];
    client.onEvent((e) => events.push(e));
    t.send({
      event: 'RESET',
      data: { guest: false, reason: 'host-qmp-system-reset' },
      timestamp: { seconds: 1, microseconds: 2 },
    });
    t.send({ event: 'STOP', timestamp: { seconds: 1, microseconds: 3 } });
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['RESET', { guest: false, reason: 'host-qmp-system-reset' }],
      ['STOP', {}],
    ]);
  });

  it('rejects every pending call when the connection drops, and ends in disconnected', async () => {
    const { client, t, states } = await connected();
    const calls = [
      client.execute('query-status'),
      client.execute('system_powerdown'),
      client.execute('quit'),
    ];
    const cause = new Error('ECONNRESET');
    t.hangUp(cause);
    for (const c of calls) {
      const err = await c.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QmpDisconnectedError);
      expect((err as Error).cause).toBe(cause);
    }
    expect(states).toEqual(['idle', 'greeting', 'negotiating', 'running', 'disconnected']);
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(StateError);
    await client.whenDisconnected();
  });

  it('disconnect() passes through disconnecting and closes the transport', async () => {
    const { client, t, states } = await connected();
    await client.disconnect();
    expect(t.closed).toBe(true);
    expect(states).toEqual(['idle', 'greeting', 'negotiating', 'running', 'disconnecting', 'disconnected']);
  });
});
