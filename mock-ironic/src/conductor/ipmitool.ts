import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createLogger } from '../../../common/src/index.ts';
import { ApiError } from '../api/errors.ts';
import { PowerState } from '../states.ts';
import type { JsonObject } from '../store/records.ts';
import type { Timers } from './timers.ts';

const log = createLogger('mock-ironic:ipmitool');

/** driver_info of an `ipmi` node, parsed as ipmitool.py `_parse_driver_info` does. */
export interface IpmiDriverInfo {
  address: string;
  port: string | null;
  username: string | null;
  password: string | null;
  privLevel: string;
  protocolVersion: '1.5' | '2.0';
  cipherSuite: string | null;
  hexKgKey: string | null;
  disableBootTimeout: boolean;
}

const PRIV_LEVELS = ['ADMINISTRATOR', 'CALLBACK', 'OPERATOR', 'USER'];

function str(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  return String(v);
}

/** ipmitool.py `_parse_driver_info`: the same required fields and messages. */
export function parseIpmiDriverInfo(nodeUuid: string, info: JsonObject): IpmiDriverInfo {
  const address = str(info['ipmi_address']);
  if (!address) {
    throw ApiError.badRequest(
      `Missing the following IPMI credentials in node's driver_info: ['ipmi_address'].`,
      'MissingParameterValue',
    );
  }
  const privLevel = str(info['ipmi_priv_level']) ?? 'ADMINISTRATOR';
  if (!PRIV_LEVELS.includes(privLevel)) {
    throw ApiError.badRequest(
      `Invalid privilege level value:${privLevel}, the valid value can be one of ${PRIV_LEVELS.join(', ')}`,
    );
  }
  const port = str(info['ipmi_port']);
  if (port !== null && !/^\d+$/.test(port)) {
    throw ApiError.badRequest(`Invalid port value for node ${nodeUuid}: ipmi_port must be an integer`);
  }
  const version = str(info['ipmi_protocol_version']) ?? '2.0';
  if (version !== '1.5' && version !== '2.0') {
    throw ApiError.badRequest(
      `Invalid IPMI protocol version value ${version}, the valid value can be one of 1.5, 2.0`,
    );
  }
  const disable = info['ipmi_disable_boot_timeout'];
  return {
    address,
    port,
    username: str(info['ipmi_username']),
    password: str(info['ipmi_password']),
    privLevel,
    protocolVersion: version,
    cipherSuite: str(info['ipmi_cipher_suite']),
    hexKgKey: str(info['ipmi_hex_kg_key']),
    disableBootTimeout:
      disable === undefined || disable === null ? true : disable !== false && disable !== 'false',
  };
}

export interface IpmiToolConfig {
  /** The ipmitool binary. */
  binary?: string;
  /** `[ipmi]min_command_interval` in seconds (Ironic's default 5; the reference lab used 1). */
  minCommandInterval: number;
  /** `[ipmi]command_retry_timeout` in seconds (default 60). */
  commandRetryTimeout: number;
  /** Per-process timeout so a hung ipmitool cannot stall a node forever. */
  processTimeoutMs?: number;
  /**
   * Which IANA enterprise-number list ipmitool loads for commands other than `mc info`: `short` (the
   * default) is a one-entry list, `system` is /usr/share/misc/enterprise-numbers.txt. See SHORT_OEM_LIST.
   */
  oemList?: 'short' | 'system';
  timers: Timers;
}

/**
 * ipmitool 1.8.19 parses the whole IANA enterprise-number list (4.7 MB) at every start: about 17 of a
 * `power status` run's 21 ms of CPU here. Only `mc info` prints a name from it, so every other command
 * runs with HOME pointing at this one-entry list (ipmitool reads
 * $HOME/.local/usr/share/misc/enterprise-numbers.txt before the system one; an empty file is refused),
 * and `mc info` runs with the system list, so the vendor Ironic would read is the vendor read here.
 */
const SHORT_OEM_LIST = '0\n  Reserved\n    Internet Assigned Numbers Authority\n      iana&iana.org\n';

/**
 * The argument vector ipmitool.py `_get_ipmitool_args` + `_ipmitool_timing_args` builds, without the
 * password file and the subcommand: `-I lanplus -H <addr> -L <priv> [-p port] [-U user] [-y kg]
 * [-C cs] -R 1 -N <min_command_interval>` (use_ipmitool_retries=False: Ironic retries itself).
 */
export function ipmitoolArgs(info: IpmiDriverInfo, minCommandInterval: number): string[] {
  const args = [
    '-I',
    info.protocolVersion === '2.0' ? 'lanplus' : 'lan',
    '-H',
    info.address,
    '-L',
    info.privLevel,
  ];
  if (info.port) args.push('-p', info.port);
  if (info.username) args.push('-U', info.username);
  if (info.hexKgKey) args.push('-y', info.hexKgKey);
  if (info.cipherSuite) args.push('-C', info.cipherSuite);
  // -N takes whole seconds; a sub-second interval (tests) still gives ipmitool a 1 s retransmit timer.
  args.push('-R', '1', '-N', String(Math.max(1, Math.ceil(minCommandInterval))));
  return args;
}

export interface IpmiCall {
  address: string;
  argv: string[];
  startedAt: number;
  ms: number;
  ok: boolean;
}

/** Where the conductor's IPMI time went, for benchmarks: process runs and the waits between them. */
export interface IpmiStats {
  /** ipmitool processes run (retries included). */
  runs: number;
  /** Runs that failed (non-zero exit or timeout); each is retried until command_retry_timeout. */
  failures: number;
  /** Wall time inside ipmitool processes, summed over runs (ms). */
  execMs: number;
  /** Time commands waited for min_command_interval since the previous command to the same address (ms). */
  throttleMs: number;
  /** Runs per subcommand (`power status`, `chassis bootdev pxe`, ...). */
  bySubcommand: Record<string, number>;
}

/** The last calls kept for inspection (tests); older ones are dropped so a long-running mock stays flat. */
const KEEP_CALLS = 1000;

export class IpmiFailure extends Error {
  readonly command: string;
  constructor(command: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IPMIFailure';
    this.command = command;
  }
}

const BOOT_DEVICE_MAP: Record<string, string> = {
  'Force PXE': 'pxe',
  'Force Boot from default Hard-Drive': 'disk',
  'Force Boot from default Hard-Drive, request Safe-Mode': 'safe',
  'Force Boot from CD/DVD': 'cdrom',
  'Force BIOS Setup': 'bios',
};

interface SpawnRequest {
  file: string;
  args: string[];
  /** Written (mode 0600) just before the run and removed after it, as Ironic's password file. */
  pwFile: string;
  password: string;
  timeoutMs: number;
  /** The child's environment; the process's own when absent. */
  env?: Record<string, string>;
}

interface SpawnResult {
  stdout: string;
  stderr: string;
  /** Set when the process failed to start, exited non-zero or timed out. */
  error?: string;
}

/**
 * The worker side of SpawnPool, plain CommonJS so it runs without the TypeScript loader: writes the
 * password file, runs the process, removes the file, and reports the output.
 */
const SPAWN_WORKER = `
const { parentPort } = require('node:worker_threads');
const { execFile } = require('node:child_process');
const { writeFileSync, rmSync } = require('node:fs');
parentPort.on('message', (m) => {
  try {
    writeFileSync(m.pwFile, m.password, { mode: 0o600 });
  } catch (e) {
    parentPort.postMessage({ id: m.id, stdout: '', stderr: '', error: String(e) });
    return;
  }
  const child = execFile(m.file, m.args,
    { env: m.env, timeout: m.timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' },
    (err, stdout, stderr) => {
      rmSync(m.pwFile, { force: true });
      parentPort.postMessage({ id: m.id, stdout, stderr, error: err ? err.message : undefined });
    });
  child.stdin?.end();
});
`;

/**
 * Starts processes from worker threads. Node's spawn blocks its event loop until the child has
 * exec'd (libuv waits on a close-on-exec pipe); on a busy machine that is milliseconds per run, and
 * a conductor running thousands of ipmitool processes would stall its API and heartbeats for that
 * long each time. A worker blocks only itself.
 */
class SpawnPool {
  readonly #workers: { w: Worker; busy: number }[] = [];
  readonly #pending = new Map<
    number,
    { resolve: (r: SpawnResult) => void; reject: (e: Error) => void; slot: { w: Worker; busy: number } }
  >();
  #next = 0;
  #id = 0;

  #start(): void {
    const size = Math.max(2, Math.min(4, availableParallelism()));
    for (let i = 0; i < size; i++) {
      const w = new Worker(SPAWN_WORKER, { eval: true });
      const slot = { w, busy: 0 };
      w.unref();
      w.on('message', (m: SpawnResult & { id: number }) => {
        const p = this.#pending.get(m.id);
        if (p === undefined) return;
        this.#pending.delete(m.id);
        if (--slot.busy === 0) w.unref();
        p.resolve(m);
      });
      w.on('error', (err) => {
        for (const [id, p] of this.#pending) {
          if (p.slot !== slot) continue;
          this.#pending.delete(id);
          p.reject(err);
        }
      });
      this.#workers.push(slot);
    }
  }

  run(req: SpawnRequest): Promise<SpawnResult> {
    if (this.#workers.length === 0) this.#start();
    const slot = this.#workers[this.#next++ % this.#workers.length]!;
    const id = ++this.#id;
    // A worker with work keeps the process alive; an idle one does not.
    if (slot.busy++ === 0) slot.w.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, slot });
      slot.w.postMessage({ id, ...req });
    });
  }

  async close(): Promise<void> {
    const ws = this.#workers.splice(0);
    await Promise.all(ws.map((s) => s.w.terminate()));
  }
}

/**
 * Runs ipmitool the way Ironic does (ipmitool.py `_exec_ipmitool`): one process per command, the
 * password through a temporary file (`-f`), a command waits until min_command_interval has passed
 * since the last one to the same BMC address, and failed commands are repeated until
 * command_retry_timeout.
 */
export class IpmiTool {
  readonly #cfg: IpmiToolConfig;
  readonly #lastCommand = new Map<string, number>();
  /** The most recent calls (at most KEEP_CALLS), oldest first. */
  readonly calls: IpmiCall[] = [];
  readonly stats: IpmiStats = { runs: 0, failures: 0, execMs: 0, throttleMs: 0, bySubcommand: {} };
  #tmpDir: Promise<string> | undefined;
  #shortOemEnv: Record<string, string> | undefined;
  readonly #spawner = new SpawnPool();

  constructor(cfg: IpmiToolConfig) {
    this.#cfg = cfg;
  }

  async dispose(): Promise<void> {
    await this.#spawner.close();
    if (this.#tmpDir) await rm(await this.#tmpDir, { recursive: true, force: true });
  }

  /**
   * Like Ironic, the spacing is a throttle keyed by the BMC *address* (LAST_CMD_TIME[address]), not a
   * lock: concurrent callers that wait for the same last command fire together, and BMCs that share an
   * address on different ports share the throttle.
   */
  async exec(info: IpmiDriverInfo, command: string): Promise<string> {
    const { timers, minCommandInterval, commandRetryTimeout } = this.#cfg;
    const intervalMs = minCommandInterval * 1000;
    const endTime = timers.now() + commandRetryTimeout * 1000;
    let tries = Math.max(Math.floor(commandRetryTimeout / minCommandInterval), 1);
    for (;;) {
      tries -= 1;
      const wait = intervalMs - (timers.now() - (this.#lastCommand.get(info.address) ?? 0));
      if (wait > 0) {
        this.stats.throttleMs += wait;
        await timers.sleep(wait);
      }
      try {
        return await this.#execOnce(info, command);
      } catch (err) {
        if (timers.now() > endTime || tries <= 0) {
          throw new IpmiFailure(command, `IPMI call failed: ${command}.`, { cause: err });
        }
        log.debug('retrying "%s" on %s: %s', command, info.address, (err as Error).message);
      } finally {
        this.#lastCommand.set(info.address, timers.now());
      }
    }
  }

  /** The password files' directory, and the HOME that holds the short OEM list (SHORT_OEM_LIST). */
  async #makeTmpDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mock-ironic-ipmi-'));
    if ((this.#cfg.oemList ?? 'short') === 'short') {
      const misc = join(dir, 'home', '.local', 'usr', 'share', 'misc');
      await mkdir(misc, { recursive: true });
      await writeFile(join(misc, 'enterprise-numbers.txt'), SHORT_OEM_LIST);
      this.#shortOemEnv = { ...(process.env as Record<string, string>), HOME: join(dir, 'home') };
    }
    return dir;
  }

  async #execOnce(info: IpmiDriverInfo, command: string): Promise<string> {
    this.#tmpDir ??= this.#makeTmpDir();
    const dir = await this.#tmpDir;
    const pwFile = join(dir, `pw-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const argv = [...ipmitoolArgs(info, this.#cfg.minCommandInterval), '-f', pwFile, ...command.split(' ')];
    const startedAt = this.#cfg.timers.now();
    const t0 = performance.now();
    let ok = false;
    try {
      // An empty password still needs a file, or ipmitool prompts (Ironic writes '\0').
      const res = await this.#spawner.run({
        file: this.#cfg.binary ?? 'ipmitool',
        args: argv,
        pwFile,
        password: info.password ?? '\0',
        timeoutMs: this.#cfg.processTimeoutMs ?? 60_000,
        ...(command === 'mc info' || this.#shortOemEnv === undefined ? {} : { env: this.#shortOemEnv }),
      });
      if (res.error !== undefined) {
        throw new Error(`ipmitool ${command}: ${res.stderr.trim() || res.error}`);
      }
      ok = true;
      return res.stdout.replace(/\n$/, '');
    } finally {
      const ms = performance.now() - t0;
      const st = this.stats;
      st.runs++;
      st.execMs += ms;
      if (!ok) st.failures++;
      st.bySubcommand[command] = (st.bySubcommand[command] ?? 0) + 1;
      this.calls.push({ address: info.address, argv, startedAt, ms, ok });
      if (this.calls.length > KEEP_CALLS) this.calls.splice(0, this.calls.length - KEEP_CALLS);
    }
  }

  /** `power status` -> Ironic power state (ipmitool.py `_power_status`). */
  async powerStatus(info: IpmiDriverInfo): Promise<string> {
    const out = await this.exec(info, 'power status');
    if (/Chassis Power is on/i.test(out)) return PowerState.ON;
    if (/Chassis Power is off/i.test(out)) return PowerState.OFF;
    return 'error';
  }

  async powerOn(info: IpmiDriverInfo): Promise<void> {
    await this.exec(info, 'power on');
  }

  async powerOff(info: IpmiDriverInfo): Promise<void> {
    await this.exec(info, 'power off');
  }

  async mcInfo(info: IpmiDriverInfo): Promise<string> {
    return this.exec(info, 'mc info');
  }

  /**
   * IPMIManagement.set_boot_device: disable the 60 s boot-flag timeout first (IPMI spec: the flags
   * are valid only 60 s unless `raw 0x00 0x08 0x03 0x08`), then `chassis bootdev <dev>[ options=persistent]`.
   */
  async setBootDevice(info: IpmiDriverInfo, device: string, persistent: boolean): Promise<void> {
    if (info.disableBootTimeout) await this.exec(info, 'raw 0x00 0x08 0x03 0x08');
    const dev = device === 'disk' ? 'disk' : device;
    await this.exec(info, `chassis bootdev ${dev}${persistent ? ' options=persistent' : ''}`);
  }

  /** IPMIManagement.get_boot_device: `chassis bootparam get 5`. */
  async getBootDevice(info: IpmiDriverInfo): Promise<{ boot_device: string | null; persistent: boolean }> {
    const out = await this.exec(info, 'chassis bootparam get 5');
    const m = /Boot Device Selector : (.+)/.exec(out);
    const device = m?.[1] ? (BOOT_DEVICE_MAP[m[1].trim()] ?? null) : null;
    return { boot_device: device, persistent: out.includes('Options apply to all future boots') };
  }
}
