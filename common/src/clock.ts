/**
 * Time comes in through this interface: session timeouts, boot-flag timeouts and BMC reset windows
 * are tested by moving a manual clock, not by sleeping.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

export class ManualClock implements Clock {
  #t: number;
  constructor(start = 0) {
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  advance(ms: number): void {
    this.#t += ms;
  }
}
