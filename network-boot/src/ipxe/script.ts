/**
 * A subset of the iPXE script language, enough to follow what Ironic's ipxe boot interface writes
 * (its `boot.ipxe`, which loops over `${net<N>/mac:hexhyp}` chaining `pxelinux.cfg/<mac>`, and the
 * per-node `config` with `kernel ... BOOTIF=${mac} ipa-api-url=... || goto deploy`, `initrd`, `boot`,
 * or `sanboot`/`exit` for local boot). Used by the sim backend in place of a real iPXE.
 *
 * Pure: no sockets or files. Scripts and images are reached through an injected `IpxeFetcher`, so
 * the caller decides between real HTTP and a direct read of the boot root.
 *
 * Semantics kept from iPXE (ipxe.org/scripting, ipxe.org/cmd):
 * - a script must start with `#!ipxe` (or `#!gpxe`);
 * - a failing command aborts the script unless `||` follows it; `&&` runs the next only on success;
 * - `${name}` / `${name:type}` expand, innermost first (`${net${netid}/mac}`); unset expands to "";
 * - `chain` runs another script, resolved against the current script's URL, and returns to the caller
 *   when that one ends; `exit` leaves iPXE altogether (the firmware tries its next boot device);
 * - `kernel`/`imgfetch`/`initrd` load images (here: a HEAD-like probe), `boot` starts the selected one.
 */

export interface IpxeFetcher {
  /** Fetch a script (small text). */
  script(url: string): Promise<FetchOutcome<string>>;
  /** Check an image exists and learn its size, without transferring it. */
  image(url: string): Promise<FetchOutcome<number>>;
}

export type FetchOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface IpxeImage {
  readonly url: string;
  readonly name: string;
  readonly size: number;
  /** Command line (for the kernel) or image arguments. */
  readonly args: string;
}

export type IpxeOutcome =
  | { readonly kind: 'boot'; readonly kernel: IpxeImage; readonly initrds: readonly IpxeImage[] }
  | { readonly kind: 'sanboot'; readonly target: string | undefined }
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'reboot' }
  | { readonly kind: 'poweroff' }
  /** Waits for input that never comes in a lab (a `prompt` without timeout, `shell`): the machine sits there. */
  | { readonly kind: 'hang'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export type IpxeResult = IpxeOutcome & {
  /** What iPXE would have printed (echo output and its own status lines). */
  readonly output: readonly string[];
  /** Every URL fetched, in order. */
  readonly fetched: readonly string[];
};

export interface IpxeRunOptions {
  /** Initial settings: `net0/mac`, `net0/ip`, `uuid`, `platform`, ... (see `defaultSettings`). */
  readonly settings: Readonly<Record<string, string>>;
  readonly fetcher: IpxeFetcher;
  readonly onOutput?: (line: string) => void;
  /** Commands executed before giving up (a real iPXE retries `|| goto deploy` forever). */
  readonly maxSteps?: number;
  readonly maxChainDepth?: number;
}

/** The settings iPXE has after DHCP on a machine with these NICs (first NIC is the boot one). */
export function defaultSettings(input: {
  macs: readonly string[];
  ip?: string;
  uuid?: string;
  platform?: 'pcbios' | 'efi';
  filename?: string;
  nextServer?: string;
}): Record<string, string> {
  const s: Record<string, string> = {
    platform: input.platform ?? 'pcbios',
    buildarch: input.platform === 'efi' ? 'x86_64' : 'i386',
    'user-class': 'iPXE',
    version: '1.0.0+git-20190125',
  };
  input.macs.forEach((mac, i) => {
    s[`net${i}/mac`] = mac.toLowerCase();
  });
  if (input.macs[0]) s['mac'] = input.macs[0].toLowerCase();
  if (input.ip) s['ip'] = s['net0/ip'] = input.ip;
  if (input.uuid) s['uuid'] = input.uuid;
  if (input.filename) s['filename'] = s['net0/filename'] = input.filename;
  if (input.nextServer) s['next-server'] = s['net0/next-server'] = input.nextServer;
  return s;
}

/** `key=value` and bare-flag words of a kernel command line; quotes group, later keys win. */
export function parseKernelArgs(cmdline: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of splitWords(cmdline)) {
    const eq = word.indexOf('=');
    if (eq < 0) out[word] = '';
    else out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}

function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (has || cur) words.push(cur);
  return words;
}

/** Formats a setting the way iPXE's `:type` suffixes do. */
function format(value: string, type: string | undefined): string {
  switch (type) {
    case 'hexhyp':
      return value.replace(/:/g, '-');
    case 'hexraw':
      return value.replace(/[:-]/g, '');
    case 'hex':
      return value.replace(/-/g, ':');
    case 'uristring':
      return encodeURIComponent(value);
    default:
      return value;
  }
}

/** Expands `${...}` innermost first, so `${net${netid}/mac:hexhyp}` works. */
export function expand(text: string, settings: ReadonlyMap<string, string>): string {
  let s = text;
  for (let guard = 0; guard < 64; guard++) {
    const m = /\$\{([^${}]*)\}/.exec(s);
    if (!m) return s;
    const [whole, inner = ''] = m;
    const colon = inner.lastIndexOf(':');
    const name = colon > 0 && !inner.slice(colon + 1).includes('/') ? inner.slice(0, colon) : inner;
    const type = name === inner ? undefined : inner.slice(colon + 1);
    s = s.slice(0, m.index) + format(lookup(settings, name), type) + s.slice(m.index + whole.length);
  }
  return s;
}

function lookup(settings: ReadonlyMap<string, string>, name: string): string {
  // Unscoped names are searched in the boot NIC's settings block too, as iPXE does.
  return settings.get(name) ?? settings.get(`net0/${name}`) ?? '';
}

interface Line {
  readonly no: number;
  readonly text: string;
  readonly label?: string;
}

interface Script {
  readonly url: string;
  readonly lines: readonly Line[];
  readonly labels: ReadonlyMap<string, number>;
}

export function parseScript(url: string, body: string): Script | { error: string } {
  const raw = body.replace(/\r\n?/g, '\n').split('\n');
  const first = raw[0]?.trim() ?? '';
  if (!/^#!\s*(ipxe|gpxe)\b/.test(first)) return { error: 'not an iPXE script (no #!ipxe line)' };
  const lines: Line[] = [];
  const labels = new Map<string, number>();
  raw.forEach((text, i) => {
    const t = text.trim();
    if (t === '' || t.startsWith('#')) return;
    if (t.startsWith(':')) {
      const label = t.slice(1).trim();
      labels.set(label, lines.length);
      lines.push({ no: i + 1, text: '', label });
      return;
    }
    lines.push({ no: i + 1, text: t });
  });
  return { url, lines, labels };
}

/** Splits a line into commands joined by `||` and `&&`. */
function splitCommands(text: string): { cmd: string; op: '||' | '&&' | undefined }[] {
  const out: { cmd: string; op: '||' | '&&' | undefined }[] = [];
  // A trailing operator (`iseq ${i} ${n} && goto fail ||`) is allowed: it makes the line never fail.
  const re = /\s(\|\||&&)(?=\s|$)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ cmd: text.slice(last, m.index).trim(), op: m[1] as '||' | '&&' });
    last = m.index + m[0].length;
  }
  out.push({ cmd: text.slice(last).trim(), op: undefined });
  return out;
}

class Stop {
  constructor(readonly outcome: IpxeOutcome) {}
}

interface Loaded {
  url: string;
  name: string;
  size: number;
  args: string;
}

export async function runIpxe(url: string, opts: IpxeRunOptions): Promise<IpxeResult> {
  const settings = new Map(Object.entries(opts.settings));
  const output: string[] = [];
  const fetched: string[] = [];
  const say = (line: string) => {
    output.push(line);
    opts.onOutput?.(line);
  };
  let images: Loaded[] = [];
  let selected: Loaded | undefined;
  let steps = 0;
  /** The error of the last failed command, as iPXE reports it when the whole script fails. */
  let lastError = 'Operation not permitted (http://ipxe.org/410c613c)';
  let aborted: string | undefined;
  const maxSteps = opts.maxSteps ?? 10_000;
  const maxDepth = opts.maxChainDepth ?? 8;

  const fetchScript = async (target: string): Promise<Script | string> => {
    fetched.push(target);
    const r = await opts.fetcher.script(target);
    if (!r.ok) {
      say(`${target}... ${r.error}`);
      lastError = r.error;
      return r.error;
    }
    say(`${target}... ok`);
    const s = parseScript(target, r.value);
    return 'error' in s ? s.error : s;
  };

  const load = async (cmd: string, args: string[], base: string): Promise<boolean> => {
    let name: string | undefined;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (rest.length === 0 && (a === '--name' || a === '-n' || a === '--timeout' || a === '-t')) {
        if (a === '--name' || a === '-n') name = args[i + 1];
        i++;
      } else if (rest.length === 0 && a.startsWith('-')) {
        // --autofree, --replace and the like: no effect on what gets booted
      } else rest.push(a);
    }
    const [target, ...imgArgs] = rest;
    if (target === undefined) return false;
    const resolved = resolveIpxeUri(target, base);
    if ('error' in resolved) {
      say(`Could not start download: ${resolved.error}`);
      lastError = resolved.error;
      return false;
    }
    const full = resolved.url;
    fetched.push(full);
    const r = await opts.fetcher.image(full);
    if (!r.ok) {
      say(`${full}... ${r.error}`);
      lastError = r.error;
      return false;
    }
    say(`${full}... ok`);
    const img: Loaded = {
      url: full,
      name: name ?? full.split('/').pop() ?? full,
      size: r.value,
      args: imgArgs.join(' '),
    };
    if (cmd === 'kernel' || cmd === 'imgselect' || cmd === 'chain') {
      images = images.filter((i) => i !== selected);
      selected = img;
    }
    images.push(img);
    return true;
  };

  const exec = async (
    words: string[],
    script: Script,
    depth: number,
  ): Promise<{ ok: boolean; jump?: string }> => {
    const [cmd = '', ...args] = words;
    switch (cmd) {
      case '':
        return { ok: true };
      case 'set': {
        const [rawName, ...value] = args;
        if (rawName === undefined) return { ok: false };
        const name = rawName.replace(/:[a-z0-9]+$/i, '');
        settings.set(name, value.join(' '));
        return { ok: true };
      }
      case 'clear':
        if (args[0]) settings.delete(args[0]);
        return { ok: args[0] !== undefined };
      case 'inc': {
        const [name, by = '1'] = args;
        if (name === undefined) return { ok: false };
        settings.set(name, String((Number(lookup(settings, name)) || 0) + Number(by)));
        return { ok: true };
      }
      case 'isset':
        return { ok: args.length > 0 && args[0] !== '' };
      case 'iseq':
        return { ok: (args[0] ?? '') === (args[1] ?? '') };
      case 'goto':
        return args[0] !== undefined && script.labels.has(args[0])
          ? { ok: true, jump: args[0] }
          : { ok: false };
      case 'echo':
        say(args.filter((a) => a !== '-n').join(' '));
        return { ok: true };
      case 'chain': {
        const nonOpt = args.filter((a) => !a.startsWith('-'));
        const target = nonOpt[0];
        if (target === undefined || depth >= maxDepth) return { ok: false };
        const resolved = resolveIpxeUri(target, script.url);
        if ('error' in resolved) {
          say(`Could not start download: ${resolved.error}`);
          lastError = resolved.error;
          return { ok: false };
        }
        const s = await fetchScript(resolved.url);
        if (typeof s === 'string') return { ok: false };
        const ok = await run(s, depth + 1);
        return { ok };
      }
      case 'kernel':
      case 'imgselect':
      case 'imgfetch':
      case 'module':
      case 'initrd':
      case 'imgload':
        return { ok: await load(cmd, args, script.url) };
      case 'imgargs': {
        const [name, ...rest] = args;
        const img = images.find((i) => i.name === name || i.url === name);
        if (!img) return { ok: false };
        img.args = rest.join(' ');
        return { ok: true };
      }
      case 'imgfree':
        images = [];
        selected = undefined;
        return { ok: true };
      case 'boot': {
        if (args[0] !== undefined) {
          const named = images.find((i) => i.name === args[0] || i.url === args[0]);
          if (named) selected = named;
        }
        if (!selected) {
          say('No such image');
          lastError = 'No such file or directory (http://ipxe.org/2d5c403b)';
          return { ok: false };
        }
        const kernel = selected;
        throw new Stop({
          kind: 'boot',
          kernel: { ...kernel },
          initrds: images.filter((i) => i !== kernel).map((i) => ({ ...i })),
        });
      }
      case 'sanboot': {
        const target = args.filter((a) => !a.startsWith('-') && !/^0x[0-9a-f]+$/i.test(a))[0];
        throw new Stop({ kind: 'sanboot', target });
      }
      case 'exit':
        throw new Stop({ kind: 'exit', code: Number(args[0] ?? 0) || 0 });
      case 'reboot':
        throw new Stop({ kind: 'reboot' });
      case 'poweroff':
        throw new Stop({ kind: 'poweroff' });
      case 'prompt': {
        // No one presses a key in the lab: a timed prompt times out, which is a failure (as seen
        // with QEMU's iPXE running Ironic's boot.ipxe: "Press any key to reboot..." then "Could not
        // boot image: Connection timed out", and the firmware moved on to the disk). Without a
        // timeout, iPXE waits for ever.
        const text = args
          .filter((a, i) => !a.startsWith('-') && !/^(-t|--timeout|-k|--key)$/.test(args[i - 1] ?? ''))
          .join(' ');
        if (text) say(text);
        if (!args.some((a) => a === '--timeout' || a === '-t'))
          throw new Stop({ kind: 'hang', reason: 'waiting for a key at an iPXE prompt' });
        lastError = 'Connection timed out (http://ipxe.org/4c22e035)';
        return { ok: false };
      }
      case 'shell':
        throw new Stop({ kind: 'hang', reason: 'at the iPXE shell' });
      case 'sleep':
      case 'dhcp':
      case 'ifopen':
      case 'ifconf':
      case 'ifclose':
      case 'ifstat':
      case 'route':
      case 'ntp':
      case 'console':
      case 'colour':
      case 'cpair':
      case 'imgverify':
      case 'imgtrust':
      case 'params':
      case 'param':
        // Timed prompts run out, network commands succeed on an already configured NIC.
        return { ok: true };
      default:
        say(`${cmd}: command not found`);
        lastError = `${cmd}: command not found`;
        return { ok: false };
    }
  };

  /** Runs a script to its end; returns the status of its last command. Throws Stop to finish. */
  const run = async (script: Script, depth: number): Promise<boolean> => {
    let pc = 0;
    let status = true;
    while (pc < script.lines.length) {
      const line = script.lines[pc] as Line;
      pc++;
      if (line.label !== undefined) continue;
      const cmds = splitCommands(line.text);
      let jump: string | undefined;
      let ok = true;
      let lastOp: '||' | '&&' | undefined;
      for (let i = 0; i < cmds.length; i++) {
        const { cmd } = cmds[i]!;
        const prevOp = i > 0 ? cmds[i - 1]!.op : undefined;
        if (prevOp === '||' && ok) break;
        if (prevOp === '&&' && !ok) break;
        if (++steps > maxSteps)
          throw new Stop({ kind: 'failed', reason: `gave up after ${maxSteps} commands` });
        const r = await exec(splitWords(expand(cmd, settings)), script, depth);
        ok = r.ok;
        lastOp = cmds[i]!.op;
        jump = r.jump;
        if (jump !== undefined) break;
      }
      status = ok;
      if (jump !== undefined) {
        pc = script.labels.get(jump) as number;
        continue;
      }
      // iPXE aborts a script at a command that failed with nothing to catch it; a false test on
      // the left of `&&` (`iseq ${platform} efi && goto efi`) is not a failure of the script.
      if (!ok && lastOp !== '&&') {
        aborted = `line ${line.no}: ${line.text}`;
        return false;
      }
    }
    return status;
  };

  try {
    const top = await fetchScript(url);
    if (typeof top === 'string') return { kind: 'failed', reason: top, output, fetched };
    if (!(await run(top, 0))) {
      // What iPXE prints when the script it was given fails; it then tries its next network
      // device and finally returns to the firmware.
      const reason = `Could not boot image: ${lastError}`;
      say(reason);
      return {
        kind: 'failed',
        reason: aborted ? `${reason} (script aborted at ${aborted})` : reason,
        output,
        fetched,
      };
    }
    return { kind: 'failed', reason: 'script ended without booting', output, fetched };
  } catch (e) {
    if (e instanceof Stop) return { ...e.outcome, output, fetched };
    throw e;
  }
}

const IPXE_SCHEMES = new Set(['http', 'https', 'tftp', 'ftp', 'file']);

/**
 * Resolves a URI the way iPXE's `parse_uri` does: any ':' makes it absolute, with everything
 * before the first ':' as the scheme. So `chain next.ipxe?mac=${net0/mac}` (a colon in the query)
 * is an absolute URI with scheme `next.ipxe?mac=52` and fails with "Operation not supported", as
 * observed with QEMU's iPXE ROM; Ironic's scripts use `${mac:hexhyp}` in paths for that reason.
 */
export function resolveIpxeUri(target: string, base: string): { url: string } | { error: string } {
  const colon = target.indexOf(':');
  if (colon >= 0) {
    const scheme = target.slice(0, colon).toLowerCase();
    if (!IPXE_SCHEMES.has(scheme)) return { error: 'Operation not supported (http://ipxe.org/3c092003)' };
    return { url: target };
  }
  try {
    return { url: new URL(target, base).toString() };
  } catch {
    return { error: 'Invalid argument (http://ipxe.org/1c0d6502)' };
  }
}
