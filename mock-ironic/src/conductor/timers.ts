import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the conductor sees it. Every wait (ipmitool spacing, power polling, periodic tasks) goes
 * through here so tests can shrink intervals or count waits.
 */
export interface Timers {
  /** Wall clock in ms since the epoch: provision_updated_at, timeouts. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Runs `fn` every `ms`; returns a stop function. */
  every(ms: number, fn: () => void): () => void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms) => (ms > 0 ? delay(ms) : Promise.resolve()),
  every(ms, fn) {
    const h = setInterval(fn, ms);
    h.unref();
    return () => clearInterval(h);
  },
};
