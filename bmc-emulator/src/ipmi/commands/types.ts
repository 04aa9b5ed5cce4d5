/**
 * What a command handler sees. Handlers are rows in a table (STYLE.md "Handlers are data"): they
 * get the request data and a context, return the response data (without completion code), or
 * throw IpmiError(cc).
 */
import type { Clock, Logger } from '../../../../common/src/index.ts';
import type { Machine } from '../../../../vm-fleet/src/index.ts';
import type { BmcState } from '../state.ts';

/** Network functions (IPMI v2.0 table 5-1); requests use the even value. */
export const NetFn = {
  Chassis: 0x00,
  Bridge: 0x02,
  SensorEvent: 0x04,
  App: 0x06,
  Firmware: 0x08,
  Storage: 0x0a,
  Transport: 0x0c,
  Group: 0x2c,
} as const;

/** Privilege levels (table 6-?, "privilege level" values used by Set Session Privilege Level). */
export const Priv = { None: 0, Callback: 1, User: 2, Operator: 3, Admin: 4, Oem: 5 } as const;

export const PRIV_NAMES: Record<number, string> = {
  1: 'CALLBACK',
  2: 'USER',
  3: 'OPERATOR',
  4: 'ADMINISTRATOR',
  5: 'OEM',
};

/** The session a request came in on; undefined for the few commands allowed outside a session. */
export interface SessionView {
  readonly id: number;
  readonly userId: number;
  readonly privilege: number;
  readonly maxPrivilege: number;
  readonly authType: number;
  setPrivilege(p: number): void;
  close(): void;
}

export interface BmcServices {
  /** Makes the BMC go away for its configured reset time, after the response is sent. */
  reset(kind: 'cold' | 'warm'): void;
  /** Number of sessions now active (Get Channel Info, Get Session Info). */
  activeSessions(): number;
  maxSessions(): number;
  /** Sessions whose ID matches, for Close Session of another session. */
  closeSession(id: number): boolean;
}

export interface CommandContext {
  readonly state: BmcState;
  readonly machine: Machine;
  readonly clock: Clock;
  readonly log: Logger;
  readonly services: BmcServices;
  readonly session: SessionView | undefined;
  /** The channel the request arrived on (the LAN channel). */
  readonly channel: number;
  /** Whether the request came in an IPMI v2.0 (RMCP+) packet. */
  readonly rmcpPlus: boolean;
}

export interface CommandSpec {
  readonly netFn: number;
  readonly cmd: number;
  readonly name: string;
  /** Lowest session privilege allowed; Priv.None = allowed outside a session too. */
  readonly minPriv: number;
  /** Shortest valid request data; shorter gets C7h. */
  readonly minLen: number;
  handle(data: Buffer, ctx: CommandContext): Buffer | Promise<Buffer>;
}
