import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import { Lab, type LabConfig, parseLabConfig } from '../../lab/src/index.ts';
import { QemuMachine } from '../../vm-fleet/src/index.ts';

export const UP_HELP = `Usage: bmlab up [lab.yaml] [--detach]
       bmlab status [--state-dir DIR]
       bmlab down [--state-dir DIR]

'up' starts a whole lab from lab.yaml (or the defaults: 1 sim node, BMC on UDP 6230, boot root on
HTTP 8088, mock Ironic on 6385, lab API on 6380) and runs until SIGINT/SIGTERM or 'bmlab down';
--detach returns once it is ready. 'status' lists the nodes; 'down' stops a running lab.
`;

interface Running {
  readonly pid: number;
  readonly apiUrl: string;
  readonly ironicUrl: string | null;
  readonly httpUrl: string;
}

const RUNFILE = 'lab.json';

function loadConfig(file: string | undefined): LabConfig {
  if (file === undefined)
    return existsSync('lab.yaml')
      ? parseLabConfig(readFileSync('lab.yaml', 'utf8'), 'lab.yaml')
      : parseLabConfig('{}');
  if (!existsSync(file)) throw new ConfigError('lab.yaml', `${file} does not exist`);
  return parseLabConfig(readFileSync(file, 'utf8'), file);
}

function readRunning(stateDir: string): Running | undefined {
  const f = join(stateDir, RUNFILE);
  if (!existsSync(f)) return undefined;
  const r = JSON.parse(readFileSync(f, 'utf8')) as Running;
  try {
    process.kill(r.pid, 0);
    return r;
  } catch {
    return undefined; // a lab that died without cleaning up
  }
}

export async function up(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { detach: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(UP_HELP);
    return 0;
  }
  const file = positionals[0];
  const cfg = loadConfig(file);
  const stateDir = resolve(cfg.stateDir);
  const already = readRunning(stateDir);
  if (already !== undefined)
    throw new ConfigError(
      'stateDir',
      `a lab is already running from ${stateDir} (pid ${already.pid}); 'bmlab down' first`,
    );
  mkdirSync(stateDir, { recursive: true });

  if (values.detach) {
    const bin = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));
    const log = openSync(join(stateDir, 'lab.log'), 'a');
    const child = spawn(process.execPath, [bin, 'up', ...(file === undefined ? [] : [file])], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    // A qemu lab may build its guest images first (once) and probes KVM: give it longer.
    const waits = cfg.nodes.some((n) => n.backend === 'qemu') ? 1800 : 300;
    for (let i = 0; i < waits; i++) {
      const r = readRunning(stateDir);
      if (r !== undefined && r.pid === child.pid) {
        process.stdout.write(
          `lab up (pid ${r.pid}): API ${r.apiUrl}, Ironic ${r.ironicUrl ?? 'none'}; log ${join(stateDir, 'lab.log')}\n`,
        );
        return 0;
      }
      if (child.exitCode !== null) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    process.stderr.write(`bmlab: the lab did not come up; see ${join(stateDir, 'lab.log')}\n`);
    return 1;
  }

  const lab = await Lab.start({
    nodes: cfg.nodes,
    backend: cfg.backend,
    network: cfg.network,
    // The qemu guest images are cached in the lab's state directory (or where $BMLAB_IMAGES says).
    qemu: { imagesDir: process.env['BMLAB_IMAGES'] ?? join(stateDir, 'images') },
    stateDir,
    timeScale: cfg.timeScale,
    bmc: {
      address: cfg.bmc.address,
      basePort: cfg.bmc.basePort,
      user: cfg.bmc.user,
      password: cfg.bmc.password,
    },
    httpPort: cfg.httpPort,
    ...(cfg.ironic === 'mock' ? { mockIronic: { port: cfg.ironicPort } } : {}),
    ...(cfg.redfishPort === undefined ? {} : { redfish: { port: cfg.redfishPort } }),
  });
  let apiUrl: string;
  try {
    apiUrl = await lab.serveApi(cfg.apiPort);
  } catch (err) {
    await lab.stop();
    throw err;
  }
  const running: Running = {
    pid: process.pid,
    apiUrl,
    ironicUrl: lab.ironicUrl ?? null,
    // The boot root as the machines reach it: what a provisioning system puts in its boot scripts
    // (`bmlab ironic real up` takes it from here as [deploy]http_url).
    httpUrl: lab.guestHttpUrl,
  };
  for (const n of lab.nodes) {
    const a = n.endpoint.address;
    const backend = n.machine instanceof QemuMachine ? `qemu pid ${n.machine.pid ?? '-'}` : 'sim';
    process.stdout.write(
      `${n.name} ${backend} ipmi ${a.address}:${a.port} mac ${n.machine.spec.nics[0]?.mac ?? '-'}\n`,
    );
  }
  process.stdout.write(`lab API ${apiUrl}\nboot root ${lab.httpUrl} (${lab.httpRoot})\n`);
  if (lab.guestHttpUrl !== lab.httpUrl)
    process.stdout.write(`boot root as the VMs reach it (Ironic's [deploy]http_url) ${lab.guestHttpUrl}\n`);
  if (lab.ironicUrl !== undefined) process.stdout.write(`mock Ironic ${lab.ironicUrl}\n`);
  if (lab.redfishUrl !== undefined)
    process.stdout.write(`redfish ${lab.redfishUrl}/redfish/v1/Systems/<node>\n`);
  writeFileSync(join(stateDir, RUNFILE), JSON.stringify(running, null, 2));
  process.stdout.write('ready\n');
  // Stay subscribed (`on`, not `once`): execa's exit hook re-raises a signal that no other
  // listener is left to handle, which would kill the process before it cleans up.
  await new Promise<void>((res) => {
    process.on('SIGINT', res);
    process.on('SIGTERM', res);
  });
  rmSync(join(stateDir, RUNFILE), { force: true });
  await lab.stop();
  process.stdout.write('lab stopped\n');
  return 0;
}

function stateDirOf(argv: string[]): string {
  const { values } = parseArgs({ args: argv, options: { 'state-dir': { type: 'string' } } });
  return resolve(
    values['state-dir'] ?? (existsSync('lab.yaml') ? loadConfig('lab.yaml').stateDir : '.bmlab'),
  );
}

export async function down(argv: string[]): Promise<number> {
  const stateDir = stateDirOf(argv);
  const r = readRunning(stateDir);
  if (r === undefined) {
    process.stdout.write(`no lab is running from ${stateDir}\n`);
    return 0;
  }
  process.kill(r.pid, 'SIGTERM');
  for (let i = 0; i < 150; i++) {
    try {
      process.kill(r.pid, 0);
    } catch {
      process.stdout.write(`lab stopped (pid ${r.pid})\n`);
      return 0;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  process.stderr.write(`bmlab: the lab (pid ${r.pid}) did not stop within 15 s\n`);
  return 1;
}

interface NodeRow {
  name: string;
  power: string;
  bootOverride: { device: string; persistent: boolean; mode: string };
  runState: string;
  lastBootDevice: string | null;
  bmc: { ipmi: { address: string; port: number } };
  macs: string[];
  backend?: string;
}

export async function status(argv: string[]): Promise<number> {
  const stateDir = stateDirOf(argv);
  const r = readRunning(stateDir);
  if (r === undefined) {
    process.stdout.write(`no lab is running from ${stateDir}\n`);
    return 1;
  }
  const res = await fetch(`${r.apiUrl}/v1/nodes`);
  const { nodes } = (await res.json()) as { nodes: NodeRow[] };
  const rows = [
    ['NODE', 'POWER', 'BOOT DEVICE', 'STATE', 'LAST BOOT', 'BMC', 'MAC', 'BACKEND'],
    ...nodes.map((n) => [
      n.name,
      n.power,
      n.bootOverride.device === 'none'
        ? '-'
        : `${n.bootOverride.device}${n.bootOverride.persistent ? ' (persistent)' : ''}`,
      n.runState,
      n.lastBootDevice ?? '-',
      `${n.bmc.ipmi.address}:${n.bmc.ipmi.port}`,
      n.macs.join(','),
      n.backend ?? 'sim',
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  process.stdout.write(`lab API ${r.apiUrl}  Ironic ${r.ironicUrl ?? 'none'}  boot root ${r.httpUrl}\n`);
  return 0;
}
