/**
 * Real ipmitool conversations captured with tshark (test/fixtures/*.json, copied from the
 * project's shared captures): ipmitool 1.8.19 against pyghmi's Bmc and OpenIPMI's ipmi_sim,
 * user admin / password password, so every key and payload can be recomputed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CaptureFrame {
  readonly dir: 'to_bmc' | 'from_bmc';
  readonly hex: string;
}

export interface Capture {
  readonly name: string;
  readonly command: string;
  readonly user: string;
  readonly password: string;
  /** Datagrams in order; stray one-byte frames that tshark picked up are left out. */
  readonly frames: readonly CaptureFrame[];
}

export function loadCapture(name: string): Capture {
  const path = fileURLToPath(new URL(`../fixtures/${name}.json`, import.meta.url));
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Omit<Capture, 'name'>;
  return { ...raw, name, frames: raw.frames.filter((f) => f.hex.length > 2) };
}

/** "06 00 ff 07" or "0600ff07" → Buffer (HAP-NodeJS spaced-hex style vectors). */
export const fromHex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
