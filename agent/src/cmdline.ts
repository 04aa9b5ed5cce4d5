/**
 * The agent's start parameters, read from the kernel command line the way ironic-python-agent does
 * (`utils._read_params_from_file('/proc/cmdline')`: split on whitespace, keep `key=value` words, the
 * first `=` separates, a later word wins) and mapped to the options of IPA's `config.py`.
 *
 * A command line that Ironic's ipxe boot interface writes (reference ironic.md §5):
 *   kernel http://…/deploy_kernel ipa-api-url=http://127.0.0.1:6385 ipa-global-request-id=req-… BOOTIF=${mac}
 * and for in-band inspection (reference inspector.md §5):
 *   … ipa-inspection-callback-url=http://192.0.2.1:5050/v1/continue BOOTIF=01-52-54-00-00-00-01
 */
import { ConfigError } from '../../common/src/index.ts';

export interface AgentParams {
  /** `ipa-api-url`: the Ironic API; absent when the ramdisk only inspects. */
  readonly apiUrl?: string;
  /** `BOOTIF` as given: `01-aa-bb-cc-dd-ee-ff` (pxelinux/iPXE form) or `aa:bb:cc:dd:ee:ff`. */
  readonly bootif?: string;
  /** `BOOTIF` as a lower-case colon MAC, the form lookup and inspector use. */
  readonly bootMac?: string;
  /** `ipa-global-request-id`: sent as `X-OpenStack-Request-ID` on every call to Ironic. */
  readonly globalRequestId?: string;
  /** `ipa-inspection-callback-url`: where the inventory is POSTed before lookup. */
  readonly inspectionCallbackUrl?: string;
  /** `ipa-inspection-collectors` (IPA default `default`). */
  readonly inspectionCollectors: readonly string[];
  /** `ipa-listen-port` / `ipa-advertise-port` (IPA default 9999; bmlab listens on 0 unless told). */
  readonly listenPort?: number;
  readonly advertiseHost?: string;
  readonly advertisePort?: number;
  /** `ipa-lookup-timeout` in seconds (IPA default 300) and `ipa-lookup-interval` (default 1). */
  readonly lookupTimeoutS: number;
  readonly lookupIntervalS: number;
  /** `ipa-ironic-api-version`: skips version discovery when set, e.g. `1.82`. */
  readonly ironicApiVersion?: string;
  /** `ipa-agent-token`: a token handed in at boot (virtual media); lookup normally provides it. */
  readonly agentToken?: string;
  /** `ipa-debug`. */
  readonly debug: boolean;
  /** Every `key=value` word, for anything not mapped above. */
  readonly raw: Readonly<Record<string, string>>;
}

/** Splits a command line into its `key=value` words (IPA `_read_params_from_file`). */
export function readParams(cmdline: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const word of cmdline.split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq <= 0) continue;
    params[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return params;
}

/**
 * `01-aa-bb-cc-dd-ee-ff` (ARP hardware type 1 + MAC, the pxelinux `ipappend 2` / BOOTIF form) or
 * `AA:BB:…` to `aa:bb:cc:dd:ee:ff` (IPA inspector `_normalize_mac`). Returns undefined for anything else.
 */
export function normalizeMac(value: string): string | undefined {
  let mac = value.trim();
  if (mac.includes('-')) {
    const parts = mac.split('-');
    // Only the 7-part form carries the hardware-type prefix; a bare dashed MAC has 6 parts.
    mac = (parts.length === 7 ? parts.slice(1) : parts).join(':');
  }
  mac = mac.toLowerCase();
  return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) ? mac : undefined;
}

/** A MAC in the BOOTIF form Ironic and inspector expect for `boot_interface`. */
export function bootifForm(mac: string): string {
  return `01-${mac.toLowerCase().replaceAll(':', '-')}`;
}

function intParam(raw: Record<string, string>, key: string, fallback?: number): number | undefined {
  const v = raw[key];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(key, `expected a non-negative number, got '${v}'`);
  return n;
}

function boolParam(v: string | undefined): boolean {
  // oslo.config's BoolOpt accepts these spellings.
  return v !== undefined && ['1', 'true', 'yes', 'on', 'y', 't'].includes(v.toLowerCase());
}

function urlParam(raw: Record<string, string>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === '') return undefined;
  // `mdns` asks IPA to discover the endpoint; the lab has no mDNS, so it is treated as absent.
  if (v === 'mdns') return undefined;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch (err) {
    throw new ConfigError(key, `not an http(s) URL: '${v}'`, { cause: err });
  }
  return v;
}

/** Parses a kernel command line into the agent's start parameters. Pure. */
export function parseCmdline(cmdline: string): AgentParams {
  const raw = readParams(cmdline);
  const bootif = raw['BOOTIF'];
  const bootMac = bootif === undefined ? undefined : normalizeMac(bootif);
  if (bootif !== undefined && bootMac === undefined) {
    throw new ConfigError('BOOTIF', `not a MAC address: '${bootif}'`);
  }
  const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
  return {
    ...opt('apiUrl', urlParam(raw, 'ipa-api-url')),
    ...opt('bootif', bootif),
    ...opt('bootMac', bootMac),
    ...opt('globalRequestId', raw['ipa-global-request-id']),
    ...opt('inspectionCallbackUrl', urlParam(raw, 'ipa-inspection-callback-url')),
    inspectionCollectors: (raw['ipa-inspection-collectors'] ?? 'default').split(',').filter(Boolean),
    ...opt('listenPort', intParam(raw, 'ipa-listen-port')),
    ...opt('advertiseHost', raw['ipa-advertise-host']),
    ...opt('advertisePort', intParam(raw, 'ipa-advertise-port')),
    lookupTimeoutS: intParam(raw, 'ipa-lookup-timeout', 300) ?? 300,
    lookupIntervalS: intParam(raw, 'ipa-lookup-interval', 1) ?? 1,
    ...opt('ironicApiVersion', raw['ipa-ironic-api-version']),
    ...opt('agentToken', raw['ipa-agent-token']),
    debug: boolParam(raw['ipa-debug']),
    raw,
  };
}
