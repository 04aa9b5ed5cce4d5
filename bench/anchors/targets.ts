// The BMC implementations the benchmark compares, each started as its own process on 127.0.0.1 with
// user admin / password password and cipher suite 3 available:
//   bmlab    `node bin/bmlab.mjs bmc serve` (DESIGN.md contract: a line per node, then `ready`)
//   pyghmi   pyghmi.ipmi.bmc.Bmc, the engine of OpenStack VirtualBMC (pyghmi_bmc.py, Debian python3-pyghmi)
//   ipmisim  OpenIPMI's ipmi_sim (Debian openipmi), one BMC per process (ipmisim/lan.conf, bmc.emu)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Endpoint, pingAuthCaps } from '../loadgen/client.ts';

export const TARGET_NAMES = ['bmlab', 'pyghmi', 'ipmisim'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface StartOptions {
  nodes: number;
  basePort: number;
  address?: string;
  user?: string;
  password?: string;
  /** How long to wait for `ready`; 1,000 BMCs take a while to bind. */
  readyTimeoutMs?: number;
  /** Extra node options for bmlab, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export interface RunningTarget {
  name: TargetName;
  pid: number;
  address: string;
  basePort: number;
  nodes: number;
  /** Concurrent sessions one BMC holds at most (ipmi_sim: its 63-entry session table). */
  maxSessions: number;
  stop(): Promise<void>;
}

/** The target could not be started (not installed, not implemented yet, crashed on start). */
export class TargetUnavailable extends Error {
  readonly code = 'ERR_TARGET_UNAVAILABLE';
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

/** The informative end of a crash log: its last lines without the stack frames. */
function tail(text: string, lines = 4): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => !/^\s+at /.test(l) && l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/** Resolves once the child prints a line `ready`; rejects if it exits or stays silent too long. */
function waitForReady(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => done(new TargetUnavailable(`no 'ready' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      if (/^ready$/m.test(buffered)) done();
      if (buffered.length > 1 << 20) buffered = buffered.slice(-1024);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new TargetUnavailable(`exited (${signal ?? code}) before 'ready': ${tail(stderr() || buffered)}`));
    const onError = (err: Error) => done(new TargetUnavailable(err.message, { cause: err }));
    function done(err?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining stdout so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Polls with Get Channel Authentication Capabilities until the BMC answers. */
async function waitForAnswer(address: string, port: number, timeoutMs: number): Promise<void> {
  const ep = await Endpoint.open({ host: address, port });
  const end = performance.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await pingAuthCaps(ep, 100);
        return;
      } catch (err) {
        if (performance.now() > end)
          throw new TargetUnavailable('no answer to Get Channel Auth Caps', { cause: err });
      }
    }
  } finally {
    ep.close();
  }
}

function stopper(child: ChildProcess, cleanup?: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    cleanup?.();
  };
}

// Servers still running when the bench exits (a crash, Ctrl-C) are killed with it: a benchmark must
// never leave BMCs listening behind it.
const running = new Set<ChildProcess>();
const scratchDirs = new Set<string>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

function spawnServer(cmd: string, args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4096);
  });
  return { child, stderr: () => err };
}

export async function startTarget(name: TargetName, opts: StartOptions): Promise<RunningTarget> {
  const address = opts.address ?? '127.0.0.1';
  const user = opts.user ?? 'admin';
  const password = opts.password ?? 'password';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const common = { name, address, basePort: opts.basePort, nodes: opts.nodes };

  if (name === 'ipmisim') {
    // ipmi_sim serves one BMC identity per process (its LAN channels all lead to the same MC).
    if (opts.nodes !== 1) throw new TargetUnavailable('ipmi_sim serves one BMC per process');
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-bench-ipmisim-'));
    scratchDirs.add(dir);
    const fill = (file: string) =>
      readFileSync(join(HERE, 'ipmisim', file), 'utf8')
        .replaceAll('@ADDRESS@', address)
        .replaceAll('@PORT@', String(opts.basePort))
        .replaceAll('@USER@', user)
        .replaceAll('@PASSWORD@', password);
    writeFileSync(join(dir, 'lan.conf'), fill('lan.conf'));
    writeFileSync(join(dir, 'bmc.emu'), fill('bmc.emu'));
    // -n: no console on stdio, -p: no persistence (users, SEL stay as configured), -s: state dir.
    const args = ['-n', '-p', '-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', dir];
    const { child, stderr } = spawnServer('ipmi_sim', args);
    const stop = stopper(child, () => {
      rmSync(dir, { recursive: true, force: true });
      scratchDirs.delete(dir);
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new TargetUnavailable(err.message, { cause: err })));
      child.once('exit', (code) =>
        reject(new TargetUnavailable(`ipmi_sim exited (${code}): ${tail(stderr())}`)),
      );
    });
    failed.catch(() => {});
    try {
      await Promise.race([waitForAnswer(address, opts.basePort, 5000), failed]);
    } catch (err) {
      await stop();
      throw err;
    }
    return { ...common, pid: child.pid!, maxSessions: 63, stop };
  }

  const credentials = ['--user', user, '--password', password];
  const place = ['--nodes', String(opts.nodes), '--address', address, '--base-port', String(opts.basePort)];
  const { child, stderr } =
    name === 'pyghmi'
      ? spawnServer('/usr/bin/python3', [join(HERE, 'pyghmi_bmc.py'), ...place, ...credentials])
      : spawnServer(process.execPath, [
          ...(opts.nodeArgs ?? []),
          join(ROOT, 'bin/bmlab.mjs'),
          'bmc',
          'serve',
          ...place,
          ...credentials,
          // 64 concurrent clients need 64 sessions (the default limit is 32, as on many BMCs).
          '--max-sessions',
          '64',
        ]);
  const stop = stopper(child);
  try {
    await waitForReady(child, readyTimeoutMs, stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...common, pid: child.pid!, maxSessions: Number.POSITIVE_INFINITY, stop };
}

/**
 * The machine's floor beside the targets: a server that sends every datagram straight back, in C
 * (echo.c, compiled here with `cc`) or on bmlab's UDP sockets (echo.ts). What it costs per datagram
 * is the part of every target's CPU per request that is the machine's, not the BMC's.
 */
export const ECHO_NAMES = ['c', 'node'] as const;
export type EchoName = (typeof ECHO_NAMES)[number];

export interface RunningEcho {
  name: EchoName;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startEcho(name: EchoName, address: string, port: number): Promise<RunningEcho> {
  let cmd: string;
  let args: string[];
  if (name === 'c') {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-echo-'));
    scratchDirs.add(dir);
    cmd = join(dir, 'echo');
    try {
      execFileSync('cc', ['-O2', '-o', cmd, join(HERE, 'echo.c')], { stdio: 'pipe' });
    } catch (err) {
      throw new TargetUnavailable(
        `cc could not build echo.c: ${tail(String((err as { stderr?: Buffer }).stderr ?? err))}`,
      );
    }
    args = [address, String(port)];
  } else {
    cmd = process.execPath;
    args = [
      '--no-allocation-site-pretenuring',
      '--import',
      'tsx',
      join(HERE, 'echo.ts'),
      address,
      String(port),
    ];
  }
  const { child, stderr } = spawnServer(cmd, args);
  const stop = stopper(child);
  try {
    await waitForReady(child, 30_000, stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name, pid: child.pid!, port, stop };
}

function bindUdp(address: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, address, () => resolve(s));
  });
}

/**
 * A run of `count` free UDP ports below the kernel's ephemeral range (32768+), where the clients'
 * own sockets and other tests' port-0 sockets land.
 */
export async function freePortRange(count: number, address = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const held: Socket[] = [];
    let ok = true;
    for (let i = 0; i < count && ok; i++) {
      const s = await bindUdp(address, base + i);
      if (s === undefined) ok = false;
      else held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (ok) return base;
  }
  throw new Error(`no run of ${count} free UDP ports found`);
}
