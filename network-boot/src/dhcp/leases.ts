/**
 * Address assignment, deterministic: static bindings first, then the lowest free address of the
 * range. Shared by the UDP server (through npm dhcp's `static` hook) and the sim, so a node gets the
 * same address whichever path it boots through. In memory; a lab restart re-derives the same
 * addresses for the same MAC order.
 */
import { ConfigError } from '../../../common/src/index.ts';
import { normalizeMac } from './options.ts';

export interface LeasePoolOptions {
  /** First and last assignable address, inclusive. */
  readonly range: readonly [string, string];
  readonly static?: Readonly<Record<string, string>>;
  /** Addresses never handed out (the server's own, the router). */
  readonly reserved?: readonly string[];
}

export class LeasePool {
  readonly #first: number;
  readonly #last: number;
  readonly #byMac = new Map<string, number>();
  readonly #taken = new Set<number>();
  #next: number;

  constructor(opts: LeasePoolOptions) {
    this.#first = ipToInt(opts.range[0], 'range[0]');
    this.#last = ipToInt(opts.range[1], 'range[1]');
    if (this.#last < this.#first) throw new ConfigError('range', 'last address is below the first');
    this.#next = this.#first;
    for (const r of opts.reserved ?? []) this.#taken.add(ipToInt(r, 'reserved'));
    for (const [mac, ip] of Object.entries(opts.static ?? {})) {
      const n = ipToInt(ip, `static.${mac}`);
      this.#byMac.set(normalizeMac(mac), n);
      this.#taken.add(n);
    }
  }

  /** The address bound to this MAC, allocating one if needed; undefined when the range is full. */
  addressFor(mac: string): string | undefined {
    const key = normalizeMac(mac);
    const known = this.#byMac.get(key);
    if (known !== undefined) return intToIp(known);
    for (let tries = this.#last - this.#first + 1; tries > 0; tries--) {
      const n = this.#next;
      this.#next = n >= this.#last ? this.#first : n + 1;
      if (this.#taken.has(n)) continue;
      this.#taken.add(n);
      this.#byMac.set(key, n);
      return intToIp(n);
    }
    return undefined;
  }

  leases(): Map<string, string> {
    return new Map([...this.#byMac].map(([m, n]) => [m, intToIp(n)]));
  }
}

export function ipToInt(ip: string, field = 'address'): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new ConfigError(field, `not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new ConfigError(field, `not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
