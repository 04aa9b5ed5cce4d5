/**
 * A `Machine` that is a real QEMU process (the qemu backend). The BMC's verbs map to the process and
 * its QMP monitor (shared/reference/qemu-netboot.md §4):
 *   power on   spawn QEMU with bootindex values from the current boot order (a one-time override is
 *              consumed by this boot)
 *   power off  QMP `quit`, wait, SIGKILL after a timeout; cleanup in `finally`
 *   power state  whether the process is alive: a QEMU that exited is off, whatever anyone remembers
 *   reset      `system_reset`; when the boot order changed since the last boot, `qom-set bootindex`
 *              first (SeaBIOS and OVMF reread fw_cfg bootorder at reset)
 *   soft off   `system_powerdown` (the ACPI button): accepted only if the guest really powers off
 *   NMI        `inject-nmi`
 * QEMU runs without `-no-shutdown`, so a guest that powers itself off ends the process and the machine
 * reads "off" at once.
 *
 * What outlives a restart of the lab has the sim machine's shape (`snapshot`, `restore`, `onChange`):
 * power, boot override, what is known of the disks, the last boot device and the hour meter. The
 * disks' bytes are the qcow2 files in the node's directory, which a restart keeps.
 */

import type { ChildProcess } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { execa } from 'execa';
import { BmlabError, createLogger, StateError } from '../../../common/src/index.ts';
import {
  type BootDevice,
  type BootMode,
  type BootOverride,
  type Machine,
  MachineEvents,
  type MachineListener,
  type MachineSpec,
  NO_OVERRIDE,
  type PowerCause,
  PowerOnTimer,
  type PowerState,
  type SoftOffResult,
} from '../machine.ts';
import { VirtualDisk } from '../sim/disk.ts';
import { type MachineSnapshot, restoreSnapshot, takeSnapshot } from '../sim/snapshot.ts';
import { kvmUsable } from './accel.ts';
import {
  buildQemuArgs,
  type QemuAccel,
  type QemuFirmware,
  type QemuNetwork,
  type QemuSpec,
  qemuCommand,
} from './args.ts';
import { bootIndexes, bootIndexUpdates, diskId, effectiveBootOrder, nicId } from './boot-order.ts';
import { NoProxyDhcp, StreamFramer } from './no-proxy-dhcp.ts';
import { QmpClient, QmpDisconnectedError } from './qmp/client.ts';
import { SerialConsole } from './serial.ts';
import { socketTransport, UnixListener } from './unix-listener.ts';

const log = createLogger('vm-fleet:qemu');

/** Debian's ovmf package (4 MiB flash layout, the Debian 12 default). */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface QemuMachineOptions {
  readonly spec: MachineSpec;
  /** This node's directory: disks, UEFI variable store, serial log. */
  readonly dir: string;
  /** How every NIC is attached; with `user`, `bootFile` is what DHCP hands the NIC ROM. */
  readonly network: QemuNetwork;
  /** Network namespace QEMU runs in (bridge mode: where its tap lives, see bridge.ts). */
  readonly netns?: string;
  readonly qemuBinary?: string;
  readonly qemuImgBinary?: string;
  /** UEFI firmware: code (read-only) and the variable-store template copied per machine. */
  readonly ovmf?: { readonly code: string; readonly vars: string };
  readonly machineType?: 'q35' | 'pc';
  /** `auto` probes KVM once (see accel.ts) and falls back to TCG. */
  readonly accel?: 'auto' | 'kvm' | 'tcg';
  readonly tbSizeMiB?: number;
  /** Raw images the disks start from (qcow2 overlays are created over them); index = disk index. */
  readonly diskBacking?: readonly (string | undefined)[];
  /**
   * Press a key at iPXE's "Press Ctrl-B" prompt instead of waiting its 2 s out, as an operator at the
   * console would; the boot is otherwise unchanged.
   */
  readonly skipIpxeBanner?: boolean;
  /**
   * User networking: add iPXE's no-proxyDHCP option to QEMU's DHCP offer (no-proxy-dhcp.ts), which
   * saves iPXE's ~3 s wait for ProxyDHCP offers on every PXE boot, as on a bridge with the lab's own
   * DHCP server. Default true. Once per process: after a reset, iPXE waits as before.
   */
  readonly noProxyDhcp?: boolean;
  readonly quitTimeoutMs?: number;
  readonly softOffTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly now?: () => number;
}

/** The process did not stop after quit and SIGKILL (qemu python `AbnormalShutdown`). */
export class AbnormalShutdown extends BmlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_QEMU_SHUTDOWN', message, options);
  }
}

/** What of a qemu machine outlives a restart of the lab: the sim machine's snapshot, field for field. */
export type QemuMachineSnapshot = MachineSnapshot;

/** Console lines that mark boot progress → machine events (the BMC turns them into SEL entries). */
const CONSOLE_EVENTS: readonly { re: RegExp; event: Parameters<MachineEvents['emit']>[0] }[] = [
  { re: /iPXE initialising devices/, event: { type: 'network-boot', step: 'nic-rom' } },
  { re: /Configuring \(net\d/, event: { type: 'network-boot', step: 'dhcp' } },
  { re: /Linux version \S+/, event: { type: 'network-boot', step: 'kernel' } },
  { re: /bmlab: agent ramdisk up/, event: { type: 'os-reached', os: 'agent-ramdisk' } },
  { re: /DEPLOYED-IMAGE-BOOTED/, event: { type: 'os-reached', os: 'deployed-image' } },
  { re: /No bootable device/, event: { type: 'boot-failed', reason: 'No bootable device' } },
  { re: /Kernel panic - not syncing/, event: { type: 'boot-failed', reason: 'kernel panic' } },
];

const IPXE_BANNER = /Press Ctrl-B for the iPXE command line/;

/**
 * Where the machine is, as its console shows it: off, in firmware (`post`), in the agent ramdisk,
 * in the deployed OS, or stuck without a bootable device. Same names as the sim's run states.
 */
export type QemuRunState = 'off' | 'post' | 'ramdisk' | 'os' | 'no-boot';

interface BootPlan {
  readonly indexes: Map<string, number>;
  readonly device: BootDevice;
  readonly override: boolean;
  readonly mode: BootMode;
}

interface Running {
  readonly child: ChildProcess;
  readonly qmp: QmpClient;
  readonly sockDir: string;
  readonly exited: Promise<void>;
  bootIndexes: Map<string, number>;
  /** Firmware the process runs; switching it needs a new process. */
  readonly mode: BootMode;
  /** Why the process is stopping, set by whoever asked it to stop. */
  stopCause: PowerCause | undefined;
  guestShutdown: boolean;
}

export class QemuMachine implements Machine {
  readonly id: string;
  readonly spec: MachineSpec;
  readonly serial = new SerialConsole();
  /**
   * What is known to be on each disk: the lab records here what the in-guest relay wrote with a
   * successful `dd` (the bytes are in the qcow2 file; this is their digest, for status and reports).
   */
  readonly disks: readonly VirtualDisk[];
  /** The device the last boot that reached an OS came from (pxe: the agent ramdisk; disk: the image). */
  lastBootDevice: BootDevice | undefined;
  readonly #changeListeners = new Set<() => void>();
  #runState: QemuRunState = 'off';
  readonly #opts: QemuMachineOptions;
  readonly #events = new MachineEvents();
  readonly #timer: PowerOnTimer;
  #override: BootOverride = NO_OVERRIDE;
  #run: Running | undefined;
  #starting: Promise<void> | undefined;
  /** Console offsets already scanned for boot-progress lines and for iPXE's banner. */
  #scanFrom = 0;
  #bannerFrom = 0;

  constructor(options: QemuMachineOptions) {
    this.#opts = options;
    this.spec = options.spec;
    this.id = options.spec.name;
    this.#timer = new PowerOnTimer(options.now ?? (() => performance.now()));
    this.disks = options.spec.disks.map((d) => new VirtualDisk(d.name, d.sizeBytes, () => this.#changed()));
    this.serial.onText(() => this.#scanConsole());
    this.#events.subscribe((e) => this.#track(e));
  }

  runState(): QemuRunState {
    return this.#alive() ? this.#runState : 'off';
  }

  #track(e: Parameters<MachineListener>[0]): void {
    if (e.type === 'power') this.#runState = e.state === 'on' ? 'post' : 'off';
    else if (e.type === 'post') this.#runState = 'post';
    else if (e.type === 'boot-failed') this.#runState = 'no-boot';
    else if (e.type === 'os-reached') {
      const ramdisk = e.os === 'agent-ramdisk';
      this.#runState = ramdisk ? 'ramdisk' : 'os';
      this.lastBootDevice = ramdisk ? 'pxe' : 'disk';
    }
    if (e.type === 'power' || e.type === 'os-reached') this.#changed();
  }

  get serialLogPath(): string {
    return join(this.#opts.dir, 'serial.log');
  }

  diskPath(i: number): string {
    return join(this.#opts.dir, `${diskId(i)}.qcow2`);
  }

  /** PID of the running QEMU (for tests and `bmlab` status output). */
  get pid(): number | undefined {
    return this.#alive() ? this.#run?.child.pid : undefined;
  }

  powerState(): PowerState {
    return this.#alive() ? 'on' : 'off';
  }

  async powerOn(): Promise<void> {
    if (this.#starting !== undefined) return this.#starting;
    if (this.#alive()) return;
    this.#starting = this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async powerOff(): Promise<void> {
    await this.#starting?.catch(() => {});
    const run = this.#run;
    if (run === undefined || !this.#alive()) return;
    run.stopCause ??= 'command';
    await this.#stop(run);
  }

  async softOff(): Promise<SoftOffResult> {
    const run = this.#run;
    if (run === undefined || !this.#alive()) return { accepted: true };
    run.stopCause = 'soft-off';
    try {
      await run.qmp.execute('system_powerdown');
    } catch (err) {
      if (!(err instanceof QmpDisconnectedError)) throw err;
    }
    const timeout = this.#opts.softOffTimeoutMs ?? 10_000;
    const off = await Promise.race([run.exited.then(() => true), delay(timeout).then(() => false)]);
    if (!off) {
      // The guest ignored the ACPI button: it stays on, and whoever stops it later gives the cause.
      run.stopCause = undefined;
      log.debug('%s: no ACPI power-off within %d ms', this.id, timeout);
    }
    return { accepted: off };
  }

  async reset(): Promise<void> {
    await this.#starting?.catch(() => {});
    const run = this.#run;
    if (run === undefined || !this.#alive()) return;
    const next = this.#planBoot();
    if (next.mode !== run.mode) {
      // BIOS and UEFI are different firmware images (pflash vs SeaBIOS): only a new process switches.
      run.stopCause = 'reset';
      await this.#stop(run);
      await this.powerOn();
      return;
    }
    for (const u of bootIndexUpdates(run.bootIndexes, next.indexes)) {
      await run.qmp.execute('qom-set', {
        path: `/machine/peripheral/${u.id}`,
        property: 'bootindex',
        value: u.bootindex,
      });
    }
    run.bootIndexes = next.indexes;
    this.#bannerFrom = this.serial.offset;
    await run.qmp.execute('system_reset');
    this.#consumeOverride();
    this.#emitBoot(next);
  }

  async diagnosticInterrupt(): Promise<void> {
    const run = this.#run;
    if (run === undefined || !this.#alive()) return;
    await run.qmp.execute('inject-nmi');
    this.#events.emit({ type: 'nmi' });
  }

  bootOverride(): BootOverride {
    return this.#override;
  }

  setBootOverride(override: BootOverride): void {
    this.#override = override;
    this.#changed();
  }

  /** The state a restarted lab puts back (see `MachineSnapshot`). */
  snapshot(): QemuMachineSnapshot {
    return takeSnapshot({
      power: this.powerState(),
      override: this.#override,
      disks: this.disks,
      lastBootDevice: this.lastBootDevice,
      timer: this.#timer,
    });
  }

  /**
   * Puts a snapshot back into a machine that is off. The next `powerOn` boots per the restored
   * override (device, persistence, BIOS/UEFI); whether it comes back on is the BMC's restore policy.
   */
  restore(snap: QemuMachineSnapshot): void {
    if (this.#alive() || this.#starting !== undefined)
      throw new StateError('on', ['off'], `${this.id}: restore needs the machine off`);
    const r = restoreSnapshot(this.id, snap, this.disks, this.#timer);
    this.#override = r.override;
    this.lastBootDevice = r.lastBootDevice;
  }

  /** Called whenever what `snapshot()` returns may have changed; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#changeListeners) {
      try {
        l();
      } catch (e) {
        log.warn('%s: change listener failed: %s', this.id, (e as Error).message);
      }
    }
  }

  poweredOnMs(): number {
    return this.#timer.totalMs();
  }

  subscribe(listener: MachineListener): () => void {
    return this.#events.subscribe(listener);
  }

  /** The serial console as a stream (Serial-over-LAN): guest output to read, keystrokes to write. */
  openConsole(): Duplex {
    return this.serial.openStream();
  }

  /** Sends a QMP command to the running QEMU (for diagnostics and tests). */
  async qmp(command: string, args?: Readonly<Record<string, unknown>>): Promise<unknown> {
    const run = this.#run;
    if (run === undefined || !this.#alive())
      throw new BmlabError('ERR_POWERED_OFF', `${this.id} is powered off`);
    return run.qmp.execute(command, args);
  }

  #alive(): boolean {
    const c = this.#run?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The boot order the next boot uses: the override's device first, then the machine's own order. */
  #planBoot(): BootPlan {
    const o = this.#override;
    const order = effectiveBootOrder(this.spec.bootOrder, o);
    return {
      indexes: bootIndexes(order, this.spec.nics.length, this.spec.disks.length),
      device: order[0] ?? 'none',
      override: o.device !== 'none',
      mode: o.mode,
    };
  }

  /** A boot happened: a one-time override is spent (IPMI boot flags "valid for next boot only"). */
  #consumeOverride(): void {
    const o = this.#override;
    if (o.device !== 'none' && !o.persistent) {
      this.#override = { ...NO_OVERRIDE, mode: o.mode };
      this.#events.emit({ type: 'boot-override-cleared', reason: 'consumed' });
      this.#changed();
    }
  }

  #emitBoot(plan: BootPlan): void {
    this.#events.emit({ type: 'post' });
    this.#events.emit({ type: 'boot-source', device: plan.device, override: plan.override });
  }

  async #prepareDisks(): Promise<void> {
    await mkdir(this.#opts.dir, { recursive: true });
    for (const [i, disk] of this.spec.disks.entries()) {
      const path = this.diskPath(i);
      if (await exists(path)) continue;
      const backing = this.#opts.diskBacking?.[i];
      const args = ['create', '-q', '-f', 'qcow2'];
      if (backing !== undefined) args.push('-b', backing, '-F', 'raw');
      args.push(path, String(disk.sizeBytes));
      await execa(this.#opts.qemuImgBinary ?? 'qemu-img', args);
    }
  }

  async #firmware(mode: BootOverride['mode']): Promise<QemuFirmware> {
    if (mode === 'bios') return { mode: 'bios' };
    const vars = join(this.#opts.dir, 'OVMF_VARS.fd');
    const ovmf = this.#opts.ovmf ?? { code: OVMF_CODE, vars: OVMF_VARS };
    if (!(await exists(vars))) await copyFile(ovmf.vars, vars);
    return { mode: 'uefi', code: ovmf.code, vars };
  }

  async #accel(): Promise<QemuAccel> {
    const want = this.#opts.accel ?? 'auto';
    const bin = this.#opts.qemuBinary ?? 'qemu-system-x86_64';
    if (want === 'kvm' || (want === 'auto' && (await kvmUsable(bin)))) return { kind: 'kvm' };
    return { kind: 'tcg', tbSizeMiB: this.#opts.tbSizeMiB ?? 32 };
  }

  async #start(): Promise<void> {
    await this.#prepareDisks();
    const accel = await this.#accel();
    const boot = this.#planBoot();
    const firmware = await this.#firmware(boot.mode);
    // Sockets live in the node's directory, unless that makes a path longer than a unix socket
    // address allows (108 bytes): then in a short private directory.
    const local = join(this.#opts.dir, 'run');
    const sockDir =
      Buffer.byteLength(join(local, 'serial.sock')) < 100
        ? local
        : await mkdtemp(join(tmpdir(), 'bmlab-qemu-'));
    await mkdir(sockDir, { recursive: true, mode: 0o700 });
    const amendDhcp = this.#opts.network.mode === 'user' && this.#opts.noProxyDhcp !== false;
    const spec: QemuSpec = {
      name: this.id,
      machine: this.#opts.machineType ?? 'q35',
      accel,
      cpus: this.spec.cpus,
      memoryMiB: this.spec.memoryMiB,
      firmware,
      qmpSocket: join(sockDir, 'qmp.sock'),
      serialSocket: join(sockDir, 'serial.sock'),
      serialLog: this.serialLogPath,
      nics: this.spec.nics.map((n, i) => ({
        mac: n.mac,
        network: this.#opts.network,
        ...optionalIndex(boot.indexes.get(nicId(i))),
        ...(amendDhcp ? { dhcpSocket: join(sockDir, `dhcp${i}.sock`) } : {}),
      })),
      disks: this.spec.disks.map((_, i) => ({
        file: this.diskPath(i),
        format: 'qcow2' as const,
        serial: diskSerial(this.id, i),
        ...optionalIndex(boot.indexes.get(diskId(i))),
      })),
      noShutdown: false,
    };
    const qmpListener = await UnixListener.listen(spec.qmpSocket);
    const serialListener = await UnixListener.listen(spec.serialSocket);
    const dhcpListeners = await Promise.all(
      spec.nics.flatMap((n) => (n.dhcpSocket === undefined ? [] : [UnixListener.listen(n.dhcpSocket)])),
    );
    const cmd = qemuCommand(
      this.#opts.qemuBinary ?? 'qemu-system-x86_64',
      buildQemuArgs(spec),
      this.#opts.netns,
    );
    log.debug('%s: %s %s', this.id, cmd.file, cmd.args.join(' '));
    const child = execa(cmd.file, cmd.args, {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      reject: false,
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = child.then(() => undefined);
    const qmp = new QmpClient();
    const run: Running = {
      child,
      qmp,
      sockDir,
      exited,
      bootIndexes: boot.indexes,
      mode: boot.mode,
      stopCause: undefined,
      guestShutdown: false,
    };
    try {
      const timeout = this.#opts.connectTimeoutMs ?? 10_000;
      const [qmpSock, serialSock, ...dhcpSocks] = await Promise.all([
        qmpListener.accept(timeout, exited),
        serialListener.accept(timeout, exited),
        ...dhcpListeners.map((l) => l.accept(timeout, exited)),
      ]);
      for (const sock of dhcpSocks) serveNoProxyDhcp(sock);
      this.#bannerFrom = this.serial.offset;
      this.serial.attach(serialSock);
      await qmp.connect(socketTransport(qmpSock));
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      await rm(sockDir, { recursive: true, force: true });
      throw new BmlabError(
        'ERR_QEMU_START',
        `${this.id}: QEMU did not start: ${stderr.trim() || String(err)}`,
        {
          cause: err,
        },
      );
    } finally {
      await qmpListener.close();
      await serialListener.close();
      for (const l of dhcpListeners) await l.close();
    }
    qmp.onEvent((e) => {
      if (e.event === 'SHUTDOWN' && e.data['guest'] === true) run.guestShutdown = true;
    });
    this.#run = run;
    void exited.then(() => this.#exited(run, stderr));
    this.#timer.on();
    this.#consumeOverride();
    this.#events.emit({ type: 'power', state: 'on', cause: 'command' });
    this.#emitBoot(boot);
  }

  async #stop(run: Running): Promise<void> {
    const timeout = this.#opts.quitTimeoutMs ?? 5000;
    try {
      if (run.qmp.state === 'running') {
        await run.qmp.execute('quit').catch((err: unknown) => {
          if (!(err instanceof QmpDisconnectedError)) log.warn('%s: quit failed: %s', this.id, String(err));
        });
      }
      const quit = await Promise.race([run.exited.then(() => true), delay(timeout).then(() => false)]);
      if (!quit) {
        log.warn('%s: QEMU still running %d ms after quit; killing pid %d', this.id, timeout, run.child.pid);
        run.child.kill('SIGKILL');
        const killed = await Promise.race([run.exited.then(() => true), delay(timeout).then(() => false)]);
        if (!killed) throw new AbnormalShutdown(`${this.id}: pid ${run.child.pid} survived SIGKILL`);
      }
    } finally {
      await run.exited.catch(() => {});
      await this.#cleanup(run);
    }
  }

  async #exited(run: Running, stderr: string): Promise<void> {
    if (this.#run !== run) return;
    const cause: PowerCause = run.stopCause ?? (run.guestShutdown ? 'guest' : 'exited');
    if (cause === 'exited') log.warn('%s: QEMU exited unexpectedly: %s', this.id, stderr.trim());
    this.#timer.off();
    this.#events.emit({ type: 'power', state: 'off', cause });
    await this.#cleanup(run);
  }

  async #cleanup(run: Running): Promise<void> {
    await run.qmp.disconnect().catch(() => {});
    await rm(run.sockDir, { recursive: true, force: true });
  }

  #scanConsole(): void {
    if (this.#opts.skipIpxeBanner !== false) {
      const m = this.serial.text(this.#bannerFrom).match(IPXE_BANNER);
      if (m !== null) {
        this.#bannerFrom = this.serial.offset;
        this.serial.write(' ');
      }
    }
    // Only complete lines are scanned, and each only once, so every line yields its event once.
    const text = this.serial.text(this.#scanFrom);
    const nl = text.lastIndexOf('\n');
    if (nl < 0) return;
    for (const line of text.slice(0, nl).split('\n')) {
      for (const { re, event } of CONSOLE_EVENTS) if (re.test(line)) this.#events.emit(event);
    }
    this.#scanFrom += nl + 1;
  }
}

/** A disk's serial number, deterministic per node (the sim's inventory uses the same form). */
export function diskSerial(node: string, i: number): string {
  return `${node}-disk${i}`.slice(-20);
}

/**
 * Answers on one NIC's hub socket: slirp's offer to iPXE comes back with no-proxyDHCP added, then the
 * socket is closed. Until then every frame of the NIC also goes to this socket; afterwards (the kernel
 * and ramdisk downloads, the image writes) the hub has only slirp to feed: with 16 VMs booting at once
 * QEMU's CPU per VM went from 1.09× to 0.96× that of the plain command line (npm run bench:qemu). A PXE boot after a `system_reset` in the same process therefore
 * waits out iPXE's ProxyDHCP timer again (~3 s); a power on starts a new process and a new socket.
 */
function serveNoProxyDhcp(sock: Socket): void {
  const framer = new StreamFramer();
  const dhcp = new NoProxyDhcp();
  sock.on('data', (chunk: Buffer) => {
    for (const frame of framer.push(chunk)) {
      const reply = dhcp.onFrame(frame);
      if (reply !== undefined && !sock.destroyed) sock.end(StreamFramer.frame(reply));
    }
  });
  sock.on('error', () => {});
}

function optionalIndex(i: number | undefined): { bootindex?: number } {
  return i === undefined ? {} : { bootindex: i };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
