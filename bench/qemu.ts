// `npm run bench:qemu`: boot times and memory of real QEMU VMs (TCG), bmlab's qemu backend side by side
// with the floor — the plain QEMU command line of shared/reference/qemu-netboot.md — in the same run,
// so that the ratio survives a machine shared with other work. Both boot the same images from the same
// HTTP server with the same iPXE script; they differ only in how QEMU is started and driven.
//
//   floor  qemu-system-x86_64 -machine pc,graphics=off -nodefaults -accel tcg -m 256 -smp 1, QMP and
//          serial as listening sockets, -netdev user,bootfile=<http URL>, virtio-net bootindex=1; a space
//          written at iPXE's "Press Ctrl-B" prompt (reference §2, "graphics=off + banner skip")
//   bmlab  QemuMachine (vm-fleet/src/qemu) as the lab uses it: powerOn() with a PXE boot override, a
//          1 GiB qcow2 disk, the banner skip of the machine itself
//
// Phases, each alternating which side goes first:
//   pxe    spawn / powerOn() → the agent ramdisk's first phone-home, plus RSS at that moment
//   bridge the same on a Linux bridge in a private namespace (root only) with the reference's servers:
//          dnsmasq DHCP with 175.176 = 1 and an IPv6 RA; both sides on a tap of that bridge
//   disk   spawn / powerOn() of a disk holding the deploy image → the deployed OS's phone-home
//   scale  N VMs of one side at once → all of them phoned home (then the other side)
//
//   npm run bench:qemu -- [--runs 3] [--scale 16] [--phases pxe,bridge,disk,scale] [--out FILE]
//                         [--machine q35|pc] [--tb-size MiB]
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import type { MachineSpec } from '../vm-fleet/src/index.ts';
import {
  BridgeNetwork,
  customizeDeployImage,
  ensureImages,
  QemuMachine,
  stripAnsi,
} from '../vm-fleet/src/qemu/index.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    scale: { type: 'string', default: '16' },
    phases: { type: 'string', default: 'pxe,bridge,disk,scale' },
    out: { type: 'string', default: 'bench/results/qemu.json' },
    machine: { type: 'string' },
    'tb-size': { type: 'string' },
    /** `off`: bmlab's VMs without the no-proxyDHCP amendment (QEMU's plain DHCP, as the floor). */
    'no-proxy-dhcp': { type: 'string', default: 'on' },
    /** A directory of already built images, used as it is (default: build or reuse .bmlab/images). */
    images: { type: 'string' },
  },
});
const runs = Number(values.runs);
const scaleN = Number(values.scale);
const phases = new Set(values.phases.split(','));
const bmlabMachine = values.machine as 'q35' | 'pc' | undefined;
const tbSize = values['tb-size'] === undefined ? undefined : Number(values['tb-size']);

/** Console milestones, in boot order; the first match of each is timed. */
const MARKS: readonly [string, RegExp][] = [
  ['rom', /iPXE initialising devices/],
  ['banner', /Press Ctrl-B for the iPXE command line/],
  ['dhcp', /Configuring \(net0/],
  ['dhcp-ok', /Configuring \(net0[^\n]*ok/],
  ['syslinux', /SYSLINUX \d/],
  ['linux', /Linux version/],
  ['init', /bmlab: \w+ ramdisk up/],
];

/** Times (ms since t0) at which console milestones first appeared. */
class Timeline {
  readonly marks: Record<string, number> = {};
  #text = '';
  constructor(readonly t0: number) {}
  feed(text: string): void {
    this.#text += text;
    const at = Date.now() - this.t0;
    for (const [name, re] of MARKS)
      if (this.marks[name] === undefined && re.test(this.#text)) this.marks[name] = at;
  }
}

// --- the lab side: one HTTP server for both sides ------------------------------------------------

interface Home {
  readonly at: number;
  readonly mac: string;
  readonly role: string;
}

class Lab {
  port = 0;
  readonly homes: Home[] = [];
  /** mac → arrival times of its HTTP requests, by path. */
  readonly requests = new Map<string, { path: string; at: number }[]>();
  files: Record<string, string> = {};
  #waiters = new Set<() => void>();
  readonly #handler = (req: IncomingMessage, res: ServerResponse): void =>
    void this.#handle(req.url ?? '/', `http://${req.headers.host ?? '10.0.2.2'}`, res);
  readonly #server = createServer(this.#handler);
  readonly #servers = [this.#server];

  /** The lab as guests on user networking reach it. */
  get url(): string {
    return `http://10.0.2.2:${this.port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  /** Also serves on a unix socket (for a relay inside a network namespace). */
  async listenUnix(path: string): Promise<void> {
    const server = createServer(this.#handler);
    this.#servers.push(server);
    await new Promise<void>((r) => server.listen(path, r));
  }

  async stop(): Promise<void> {
    for (const server of this.#servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }

  /** Resolves with the first phone-home from `mac` at or after `since`. */
  waitHome(mac: string, since: number, timeoutMs: number): Promise<Home> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const h = this.homes.find((x) => x.mac === mac && x.at >= since);
        if (h === undefined) return false;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(h);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${mac}: no phone-home within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }

  firstRequest(mac: string, path: string, since: number): number | undefined {
    return this.requests.get(mac)?.find((r) => r.path === path && r.at >= since)?.at;
  }

  /** The boot script; URLs are the lab as this guest reached it (`base`, from the Host header). */
  script(mac: string, base: string): string {
    // Without a MAC (a bridge's DHCP hands one URL to every NIC): chain with iPXE's own MAC.
    if (mac === '') return `#!ipxe\nchain ${base}/boot.ipxe?mac=\${net0/mac}\n`;
    return [
      '#!ipxe',
      `kernel ${base}/vmlinuz?mac=${mac} console=ttyS0 no_timer_check bmlab.url=${base} bmlab.id=bench`,
      `initrd ${base}/initrd.gz?mac=${mac}`,
      'boot',
      '',
    ].join('\n');
  }

  async #handle(url: string, base: string, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const u = new URL(url, 'http://lab');
    const mac = u.searchParams.get('mac') ?? '';
    const list = this.requests.get(mac) ?? [];
    list.push({ path: u.pathname, at });
    this.requests.set(mac, list);
    if (u.pathname === '/boot.ipxe') {
      res.end(this.script(mac, base));
      return;
    }
    if (u.pathname === '/phonehome') {
      this.homes.push({ at, mac, role: u.searchParams.get('role') ?? '' });
      for (const w of [...this.#waiters]) w();
      res.end('ok\n');
      return;
    }
    if (u.pathname === '/relay') {
      res.statusCode = 204;
      res.end();
      return;
    }
    const file = this.files[u.pathname];
    if (file === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-length', (await stat(file)).size);
    createReadStream(file).pipe(res);
  }
}

// --- the floor: the reference's plain command line -----------------------------------------------

type FloorNet =
  | { readonly mode: 'user'; readonly bootFile: string }
  | { readonly mode: 'tap'; readonly ifname: string; readonly netns: string };

class FloorVm {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #serial: Socket | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly mac: string,
    net: FloorNet,
    disk: string | undefined,
    readonly timeline: Timeline,
  ) {
    const args = [
      ...['-name', name, '-nodefaults', '-display', 'none', '-accel', 'tcg', '-m', '256', '-smp', '1'],
      ...['-machine', 'pc,graphics=off'],
      ...['-qmp', `unix:${dir}/qmp.sock,server=on,wait=off`],
      ...['-chardev', `socket,id=ser0,path=${dir}/serial.sock,server=on,wait=off,logfile=${dir}/serial.log`],
      ...['-serial', 'chardev:ser0'],
      ...[
        '-netdev',
        net.mode === 'user'
          ? `user,id=n0,bootfile=${net.bootFile}`
          : `tap,id=n0,ifname=${net.ifname},script=no,downscript=no`,
      ],
      ...['-device', `virtio-net-pci,netdev=n0,mac=${mac},bootindex=${disk === undefined ? 1 : 2}`],
    ];
    if (disk !== undefined) {
      args.push('-drive', `file=${disk},if=none,id=d0,format=qcow2,cache=unsafe`);
      args.push('-device', 'virtio-blk-pci,drive=d0,bootindex=1');
    }
    const inNs = net.mode === 'tap' ? ['ip', 'netns', 'exec', net.netns] : [];
    this.child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...inNs, 'qemu-system-x86_64', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
    void this.#attach();
  }

  /** Connects to the serial socket (it exists ~30 ms after spawn) and skips iPXE's banner. */
  async #attach(): Promise<void> {
    for (let i = 0; i < 500 && this.child.exitCode === null; i++) {
      const s = await new Promise<Socket | undefined>((resolve) => {
        const c = connect(join(this.dir, 'serial.sock'));
        c.once('connect', () => resolve(c));
        c.once('error', () => resolve(undefined));
      });
      if (s !== undefined) {
        this.#serial = s;
        let text = '';
        s.on('data', (b: Buffer) => {
          const t = stripAnsi(b.toString('latin1'));
          this.timeline.feed(t);
          text += t;
          if (text.includes('Press Ctrl-B for the iPXE command line')) {
            text = '';
            s.write(' ');
          }
        });
        s.on('error', () => {});
        return;
      }
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    this.#serial?.destroy();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

// --- measurements --------------------------------------------------------------------------------

interface Sample {
  readonly side: 'floor' | 'bmlab';
  readonly phoneHomeMs: number;
  readonly rssMiB: number;
  readonly cpuS: number;
  readonly marks: Record<string, number>;
}

/** CPU seconds (user + system) the process has used: what a boot costs, whatever else the cores run. */
function cpuS(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks, counted after the ')' of comm.
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) / 1024;
}

const tail = (file: string): string => stripAnsi(readFileSync(file, 'latin1')).slice(-12000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const mac = (side: number, i: number): string =>
  `52:54:00:be:${side.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;

const images =
  values.images === undefined
    ? await ensureImages()
    : {
        kernel: join(values.images, 'vmlinuz'),
        agentInitrd: join(values.images, 'initrd-agent.gz'),
        deployImage: join(values.images, 'deploy.img'),
      };
const dir = await mkdtemp(join(tmpdir(), 'bmlab-bench-qemu-'));
const lab = new Lab();
await lab.start();
const deployImage = join(dir, 'deploy.img');
await customizeDeployImage(images.deployImage, deployImage, `bmlab.url=${lab.url}`);
lab.files = { '/vmlinuz': images.kernel, '/initrd.gz': images.agentInitrd };
const floorVms = new Set<FloorVm>();
const machines = new Set<QemuMachine>();
const cleanup = async (): Promise<void> => {
  await Promise.all([...floorVms].map((v) => v.stop()));
  await Promise.all([...machines].map((m) => m.powerOff()));
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

const userNet = (m: string): FloorNet => ({ mode: 'user', bootFile: `${lab.url}/boot.ipxe?mac=${m}` });

async function floorBoot(name: string, m: string, disk?: string, net = userNet(m)): Promise<Sample> {
  const vmDir = join(dir, name);
  await mkdir(vmDir, { recursive: true });
  const t0 = Date.now();
  const vm = new FloorVm(name, vmDir, m, net, disk, new Timeline(t0));
  floorVms.add(vm);
  try {
    const home = await lab.waitHome(m, t0, 120_000).catch((err: unknown) => {
      throw new Error(`${name}: ${String(err)}; console: ${tail(join(vmDir, 'serial.log'))}`);
    });
    const pid = vm.child.pid;
    return {
      side: 'floor',
      phoneHomeMs: home.at - t0,
      rssMiB: rssMiB(pid),
      cpuS: cpuS(pid),
      marks: marks(vm.timeline, m),
    };
  } finally {
    await vm.stop();
    floorVms.delete(vm);
  }
}

function bmlabMachineFor(
  name: string,
  m: string,
  disk: boolean,
  tap?: { readonly ifname: string; readonly netns: string },
): QemuMachine {
  const spec: MachineSpec = {
    name,
    cpus: 1,
    memoryMiB: 256,
    arch: 'x86_64',
    nics: [{ mac: m }],
    disks: [{ name: 'vda', sizeBytes: 1024 ** 3 }],
    bootOrder: disk ? ['disk', 'pxe'] : ['pxe', 'disk'],
  };
  return new QemuMachine({
    spec,
    dir: join(dir, name),
    ...(tap === undefined
      ? { network: { mode: 'user', bootFile: `${lab.url}/boot.ipxe?mac=${m}` } }
      : { network: { mode: 'tap', ifname: tap.ifname }, netns: tap.netns }),
    accel: 'tcg',
    ...(bmlabMachine === undefined ? {} : { machineType: bmlabMachine }),
    ...(tbSize === undefined ? {} : { tbSizeMiB: tbSize }),
    noProxyDhcp: values['no-proxy-dhcp'] !== 'off',
    ...(disk ? { diskBacking: [deployImage] } : {}),
  });
}

async function bmlabBoot(machine: QemuMachine, m: string, pxe: boolean): Promise<Sample> {
  machines.add(machine);
  const t0 = Date.now();
  const timeline = new Timeline(t0);
  const off = machine.serial.onText((t) => timeline.feed(t));
  if (pxe) machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
  try {
    await machine.powerOn();
    const home = await lab.waitHome(m, t0, 120_000);
    const pid = machine.pid;
    return {
      side: 'bmlab',
      phoneHomeMs: home.at - t0,
      rssMiB: rssMiB(pid),
      cpuS: cpuS(pid),
      marks: marks(timeline, m),
    };
  } finally {
    off();
    await machine.powerOff();
  }
}

/** Console milestones plus the HTTP requests the lab saw from this MAC, ms after t0. */
function marks(t: Timeline, m: string): Record<string, number> {
  const out = { ...t.marks };
  for (const path of ['/boot.ipxe', '/vmlinuz', '/initrd.gz']) {
    const at = lab.firstRequest(m, path, t.t0);
    if (at !== undefined) out[path] = at - t.t0;
  }
  return out;
}

interface ScaleResult {
  readonly side: 'floor' | 'bmlab';
  readonly n: number;
  /** VMs running at once, both sides together. */
  readonly total: number;
  readonly ok: number;
  readonly medianS: number;
  readonly maxS: number;
  readonly rssMiBPerVm: number;
  readonly cpuSPerVm: number;
}

/**
 * `counts` VMs of each side started at the same moment (so both see the same load), all PXE-booting
 * on user networking; each side's result is when all of its VMs had phoned home (within 120 s).
 */
async function scale(counts: { readonly floor: number; readonly bmlab: number }): Promise<ScaleResult[]> {
  const floorMacs = Array.from({ length: counts.floor }, (_, i) => mac(0x10, i));
  const bmlabMacs = Array.from({ length: counts.bmlab }, (_, i) => mac(0x11, i));
  const t0 = Date.now();
  const stops: (() => Promise<void>)[] = [];
  const floorPids: (number | undefined)[] = [];
  for (const [i, m] of floorMacs.entries()) {
    const vmDir = join(dir, `scale-f${i}`);
    await mkdir(vmDir, { recursive: true });
    const vm = new FloorVm(`f${i}`, vmDir, m, userNet(m), undefined, new Timeline(t0));
    floorVms.add(vm);
    floorPids.push(vm.child.pid);
    stops.push(async () => {
      await vm.stop();
      floorVms.delete(vm);
    });
  }
  const ms = bmlabMacs.map((m, i) => bmlabMachineFor(`scale-b${i}`, m, false));
  for (const machine of ms) {
    machines.add(machine);
    stops.push(() => machine.powerOff());
  }
  await Promise.all(ms.map((machine) => machine.powerOn()));
  const bmlabPids = ms.map((machine) => machine.pid);
  const wait = (macs: string[]) =>
    Promise.all(macs.map((m) => lab.waitHome(m, t0, 120_000 - (Date.now() - t0)).catch(() => undefined)));
  const [floorHomes, bmlabHomes] = await Promise.all([wait(floorMacs), wait(bmlabMacs)]);
  const result = (side: 'floor' | 'bmlab', homes: (Home | undefined)[], pids: (number | undefined)[]) => {
    const times = homes.flatMap((h) => (h === undefined ? [] : [(h.at - t0) / 1000]));
    const n = homes.length;
    return {
      side,
      n,
      total: counts.floor + counts.bmlab,
      ok: times.length,
      medianS: median(times),
      maxS: times.length === n ? Math.max(...times) : Number.NaN,
      rssMiBPerVm: pids.reduce<number>((a, pid) => a + rssMiB(pid), 0) / n,
      cpuSPerVm: pids.reduce<number>((a, pid) => a + cpuS(pid), 0) / n,
    };
  };
  const out = [result('floor', floorHomes, floorPids), result('bmlab', bmlabHomes, bmlabPids)].filter(
    (r) => r.n > 0,
  );
  await Promise.all(stops.map((stop) => stop()));
  return out;
}

/**
 * Both sides PXE-boot on one Linux bridge in a private namespace, from the reference's servers
 * (§3): dnsmasq with DHCP, iPXE's 175.176 = 1 and an IPv6 RA, and this lab's HTTP server reached
 * through a relay at the bridge address. The floor is the same plain command line on a tap.
 */
async function bridgePhase(): Promise<void> {
  const net = await BridgeNetwork.create({ namespace: `bmlab-bench-${process.pid}` });
  const inNs = ['ip', 'netns', 'exec', net.namespace, 'setpriv', '--pdeathsig', 'KILL', '--'];
  const children: ChildProcess[] = [];
  try {
    await net.addTap('tapf');
    await net.addTap('tapb');
    const sock = join(dir, 'lab.sock');
    await lab.listenUnix(sock);
    const relaySrc = `const net = require('node:net');
net.createServer((c) => { const u = net.connect(process.argv[2]); c.pipe(u).pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); })
  .listen(8080, process.argv[1], () => console.log('ready'));`;
    const relay = spawn(inNs[0] ?? 'ip', [
      ...inNs.slice(1),
      process.execPath,
      '-e',
      relaySrc,
      net.gateway,
      sock,
    ]);
    children.push(relay);
    await new Promise<void>((resolve, reject) => {
      relay.stdout?.once('data', () => resolve());
      relay.once('exit', () => reject(new Error('bridge: HTTP relay exited')));
    });
    const base = `http://${net.gateway}:8080`;
    const dnsmasq = spawn(inNs[0] ?? 'ip', [
      ...inNs.slice(1),
      ...['dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--user=root', '--bind-interfaces'],
      ...[`--interface=${net.bridge}`, '--dhcp-range=10.77.0.10,10.77.0.99,255.255.255.0,1h'],
      ...[
        `--dhcp-range=::,constructor:${net.bridge},ra-only`,
        '--enable-ra',
        '--dhcp-option=encap:175,176,1',
      ],
      ...[`--dhcp-boot=${base}/boot.ipxe`, `--dhcp-leasefile=${join(dir, 'leases')}`, '--pid-file='],
      // dnsmasq pings an address before its first offer and answers only a later retransmission:
      // iPXE's DHCP then takes ~3 s for every new MAC, which looks like a ProxyDHCP wait but is not.
      '--no-ping',
    ]);
    children.push(dnsmasq);
    await sleep(1000);
    const machine = bmlabMachineFor('bridge-bmlab', mac(5, 0), false, {
      ifname: 'tapb',
      netns: net.namespace,
    });
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? ['floor', 'bmlab'] : ['bmlab', 'floor'];
      for (const side of order) {
        const tap: FloorNet = { mode: 'tap', ifname: 'tapf', netns: net.namespace };
        const s =
          side === 'floor'
            ? await floorBoot(`bridge-floor-${r}`, mac(4, r), undefined, tap)
            : await bmlabBoot(machine, mac(5, 0), true);
        bridge.push(s);
        line(s, 'brdg');
      }
    }
  } finally {
    await cleanup();
    for (const c of children) c.kill('SIGTERM');
    await net.destroy();
  }
}

// --- the run -------------------------------------------------------------------------------------

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const started = new Date().toISOString();
const loadBefore = load();
const pxe: Sample[] = [];
const disk: Sample[] = [];
const bridge: Sample[] = [];
const scales: ScaleResult[] = [];
const line = (s: Sample, what: string): void =>
  console.log(
    `${what} ${s.side.padEnd(5)} ${(s.phoneHomeMs / 1000).toFixed(2)} s  cpu ${s.cpuS.toFixed(2)} s  rss ${s.rssMiB.toFixed(0)} MiB  ${Object.entries(
      s.marks,
    )
      .sort((a, b) => a[1] - b[1])
      .map(([k, v]) => `${k}@${v}`)
      .join(' ')}`,
  );

try {
  if (phases.has('pxe')) {
    const machine = bmlabMachineFor('pxe-bmlab', mac(1, 0), false);
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? ['floor', 'bmlab'] : ['bmlab', 'floor'];
      for (const side of order) {
        const s =
          side === 'floor'
            ? await floorBoot(`pxe-floor-${r}`, mac(0, r))
            : await bmlabBoot(machine, mac(1, 0), true);
        pxe.push(s);
        line(s, 'pxe ');
      }
    }
  }
  if (phases.has('bridge')) {
    if (process.getuid?.() === 0) await bridgePhase();
    else console.log('bridge: skipped (a network namespace with a bridge needs root)');
  }
  if (phases.has('disk')) {
    const floorDisk = join(dir, 'floor-disk.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', deployImage, '-F', 'raw', floorDisk, '1G']);
    const machine = bmlabMachineFor('disk-bmlab', mac(3, 0), true);
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? ['floor', 'bmlab'] : ['bmlab', 'floor'];
      for (const side of order) {
        const s =
          side === 'floor'
            ? await floorBoot(`disk-floor-${r}`, mac(2, r), floorDisk)
            : await bmlabBoot(machine, mac(3, 0), false);
        disk.push(s);
        line(s, 'disk');
      }
    }
  }
  if (phases.has('scale') && scaleN > 0) {
    // Half of each side together (the ratio under one load), then bmlab's N alone (the issue's figure).
    const half = Math.floor(scaleN / 2);
    for (const counts of [
      { floor: half, bmlab: scaleN - half },
      { floor: 0, bmlab: scaleN },
    ]) {
      for (const s of await scale(counts)) {
        scales.push(s);
        console.log(
          `scale ${s.side.padEnd(5)} ${s.ok}/${s.n} of ${s.total} VMs phoned home; median ${s.medianS.toFixed(1)} s, all ${s.maxS.toFixed(1)} s; cpu ${s.cpuSPerVm.toFixed(2)} s/VM; rss ${s.rssMiBPerVm.toFixed(0)} MiB/VM`,
        );
      }
    }
  }
} finally {
  await cleanup();
  await lab.stop();
  await rm(dir, { recursive: true, force: true });
}

// --- summary -------------------------------------------------------------------------------------

const summary = (samples: Sample[], side: 'floor' | 'bmlab') => {
  const s = samples.filter((x) => x.side === side);
  return {
    n: s.length,
    minS: Math.min(...s.map((x) => x.phoneHomeMs)) / 1000,
    medianS: median(s.map((x) => x.phoneHomeMs)) / 1000,
    rssMiB: median(s.map((x) => x.rssMiB)),
    cpuS: median(s.map((x) => x.cpuS)),
  };
};
const rows: { what: string; floor: number; bmlab: number; unit: string }[] = [];
for (const [what, samples] of [
  ['PXE power-on → phone-home, median', pxe],
  ['bridge PXE power-on → phone-home, median', bridge],
  ['disk power-on → phone-home, median', disk],
] as const) {
  if (samples.length === 0) continue;
  rows.push({
    what,
    floor: summary(samples, 'floor').medianS,
    bmlab: summary(samples, 'bmlab').medianS,
    unit: 's',
  });
  rows.push({
    what: `  QEMU CPU until phone-home (${what.split(' ')[0]})`,
    floor: summary(samples, 'floor').cpuS,
    bmlab: summary(samples, 'bmlab').cpuS,
    unit: 's',
  });
  rows.push({
    what: `  RSS at phone-home (${what.split(' ')[0]})`,
    floor: summary(samples, 'floor').rssMiB,
    bmlab: summary(samples, 'bmlab').rssMiB,
    unit: 'MiB',
  });
}
const mixedFloor = scales.find((s) => s.side === 'floor');
const mixedBmlab = scales.find((s) => s.side === 'bmlab' && s.total === mixedFloor?.total && s.n < s.total);
if (mixedFloor !== undefined && mixedBmlab !== undefined) {
  const at = `${mixedFloor.total} VMs at once (${mixedFloor.n} + ${mixedBmlab.n})`;
  rows.push({
    what: `${at}: all phoned home (${mixedFloor.ok}/${mixedFloor.n}, ${mixedBmlab.ok}/${mixedBmlab.n})`,
    floor: mixedFloor.maxS,
    bmlab: mixedBmlab.maxS,
    unit: 's',
  });
  rows.push({
    what: `${at}: QEMU CPU per VM`,
    floor: mixedFloor.cpuSPerVm,
    bmlab: mixedBmlab.cpuSPerVm,
    unit: 's',
  });
  rows.push({
    what: `${at}: RSS per VM`,
    floor: mixedFloor.rssMiBPerVm,
    bmlab: mixedBmlab.rssMiBPerVm,
    unit: 'MiB',
  });
}
const alone = scales.find((s) => s.side === 'bmlab' && s.n === s.total);
if (alone !== undefined) {
  // The reference's 16 VMs (40.9 s) and 32 VMs (97.9 s) were measured on an idle machine, not here.
  rows.push({
    what: `${alone.n} bmlab VMs at once: all phoned home (${alone.ok}/${alone.n}), vs the reference's 40.9 s for 16`,
    floor: Number.NaN,
    bmlab: alone.maxS,
    unit: 's',
  });
}
const loadAfter = load();
console.log(`\nbench:qemu ${started}, load before ${loadBefore}, after ${loadAfter}, runs ${runs}`);
console.log(`${'measure'.padEnd(52)} ${'floor'.padStart(8)} ${'bmlab'.padStart(8)}  bmlab/floor`);
for (const r of rows)
  console.log(
    `${r.what.padEnd(52)} ${r.floor.toFixed(r.unit === 's' ? 2 : 0).padStart(8)} ${r.bmlab.toFixed(r.unit === 's' ? 2 : 0).padStart(8)}  ${(r.bmlab / r.floor).toFixed(2)} ${r.unit}`,
  );
await writeFile(
  values.out,
  `${JSON.stringify({ started, loadBefore, loadAfter, runs, bmlabMachine: bmlabMachine ?? 'q35', rows, pxe, disk, scales }, null, 2)}\n`,
);
