/**
 * A QMP client (qemu python `qmp_client.py` / `protocol.py`): an explicit runstate guarded by
 * `requireState`, id-tagged commands tracked in a `Map<id, deferred>` and every pending call rejected
 * when the connection drops, events fanned out to listeners.
 *
 *   idle ─connect()→ greeting ─greeting→ negotiating ─qmp_capabilities ok→ running
 *   any ─transport closed→ disconnected;  running ─disconnect()→ disconnecting → disconnected
 */
import { BmlabError, createLogger, StateError } from '../../../../common/src/index.ts';
import {
  decodeQmpMessage,
  encodeQmpCommand,
  LineSplitter,
  type QmpId,
  type QmpServerMessage,
} from './framing.ts';

const log = createLogger('vm-fleet:qmp');

export type QmpState = 'idle' | 'greeting' | 'negotiating' | 'running' | 'disconnecting' | 'disconnected';

/** A byte pipe to QEMU's monitor (a unix socket in production, a fake in tests). */
export interface QmpTransport {
  write(data: string): void;
  onData(listener: (chunk: string) => void): void;
  onClose(listener: (cause?: Error) => void): void;
  close(): void;
}

export type QmpEvent = Extract<QmpServerMessage, { kind: 'event' }>;

/** QEMU answered a command with an error object (qmp-spec 2.4.2); `errorClass` is QEMU's class. */
export class QmpCommandError extends BmlabError {
  readonly errorClass: string;
  constructor(command: string, errorClass: string, desc: string) {
    super('ERR_QMP_COMMAND', `QMP ${command}: ${errorClass}: ${desc}`);
    this.errorClass = errorClass;
  }
}

/** The monitor connection closed while a command waited for its answer. */
export class QmpDisconnectedError extends BmlabError {
  constructor(command: string, options?: { cause?: unknown }) {
    super('ERR_QMP_DISCONNECTED', `QMP ${command}: connection closed`, options);
  }
}

interface Deferred {
  readonly command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class QmpClient {
  #state: QmpState = 'idle';
  #transport: QmpTransport | undefined;
  readonly #pending = new Map<QmpId, Deferred>();
  readonly #eventListeners = new Set<(e: QmpEvent) => void>();
  readonly #stateListeners = new Set<(s: QmpState) => void>();
  readonly #lines = new LineSplitter();
  #nextId = 1;
  #greeted: ((m: QmpServerMessage) => void) | undefined;
  #closedWaiters: (() => void)[] = [];

  get state(): QmpState {
    return this.#state;
  }

  requireState(...allowed: QmpState[]): void {
    if (!allowed.includes(this.#state)) throw new StateError(this.#state, allowed);
  }

  onStateChange(listener: (s: QmpState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Reads the greeting and negotiates capabilities; resolves once commands may be sent. */
  async connect(transport: QmpTransport): Promise<void> {
    this.requireState('idle');
    this.#transport = transport;
    const greeting = new Promise<QmpServerMessage>((resolve) => {
      this.#greeted = resolve;
    });
    transport.onData((chunk) => this.#receive(chunk));
    transport.onClose((cause) => this.#closed(cause));
    this.#setState('greeting');
    const closed = new Promise<never>((_, reject) => {
      this.#closedWaiters.push(() => reject(new QmpDisconnectedError('greeting')));
    });
    const g = await Promise.race([greeting, closed]);
    if (g.kind !== 'greeting')
      throw new BmlabError('ERR_QMP_PROTOCOL', `QMP: expected greeting, got ${g.kind}`);
    this.#setState('negotiating');
    // Capability negotiation mode accepts only qmp_capabilities (qmp-spec 4).
    await this.#send('qmp_capabilities');
    this.#setState('running');
  }

  async execute(command: string, args?: Readonly<Record<string, unknown>>): Promise<unknown> {
    this.requireState('running');
    return this.#send(command, args);
  }

  /** Closes the monitor connection; pending commands are rejected. */
  async disconnect(): Promise<void> {
    if (this.#state === 'disconnected' || this.#state === 'idle') return;
    this.#setState('disconnecting');
    const done = new Promise<void>((resolve) => this.#closedWaiters.push(resolve));
    this.#transport?.close();
    await done;
  }

  /** Resolves when the connection is gone (QEMU exited or closed the monitor). */
  whenDisconnected(): Promise<void> {
    if (this.#state === 'disconnected') return Promise.resolve();
    return new Promise((resolve) => this.#closedWaiters.push(resolve));
  }

  #send(command: string, args?: Readonly<Record<string, unknown>>): Promise<unknown> {
    const transport = this.#transport;
    if (transport === undefined) return Promise.reject(new QmpDisconnectedError(command));
    const id = `bmlab-${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { command, resolve, reject });
      log.debug('→ %s %s', id, command);
      transport.write(encodeQmpCommand(command, id, args));
    });
  }

  #receive(chunk: string): void {
    for (const line of this.#lines.push(chunk)) {
      let m: QmpServerMessage;
      try {
        m = decodeQmpMessage(line);
      } catch (err) {
        log.warn('dropping undecodable QMP line: %s', (err as Error).message);
        continue;
      }
      if (m.kind === 'greeting') {
        this.#greeted?.(m);
        this.#greeted = undefined;
      } else if (m.kind === 'event') {
        log.debug('event %s', m.event);
        for (const l of this.#eventListeners) {
          try {
            l(m);
          } catch (err) {
            log.warn('event listener threw: %s', (err as Error).message);
          }
        }
      } else {
        const p = m.id === undefined ? undefined : this.#pending.get(m.id);
        if (p === undefined || m.id === undefined) {
          log.warn('answer for unknown id %s', m.id);
          continue;
        }
        this.#pending.delete(m.id);
        if (m.kind === 'return') p.resolve(m.value);
        else p.reject(new QmpCommandError(p.command, m.errorClass, m.desc));
      }
    }
  }

  #closed(cause?: Error): void {
    if (this.#state === 'disconnected') return;
    this.#setState('disconnected');
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(new QmpDisconnectedError(p.command, { cause }));
    }
    const waiters = this.#closedWaiters;
    this.#closedWaiters = [];
    for (const w of waiters) w();
  }

  #setState(s: QmpState): void {
    this.#state = s;
    for (const l of this.#stateListeners) l(s);
  }
}
