/**
 * A simulated server, one state machine per node:
 *
 *   off ──power on──▶ post ──▶ boot device loop ──▶ ramdisk | os | setup
 *                                   │  pxe: NIC ROM DHCP ─▶ (PXE ROM: TFTP iPXE ─▶ DHCP as iPXE)
 *                                   │       ─▶ HTTP script ─▶ chain … ─▶ kernel + initrd ─▶ ramdisk
 *                                   │  disk: deployed image boots, empty disk fails
 *                                   └─ every device failed: "No bootable device", retry later
 *
 * Network boot makes the protocol decisions a real NIC ROM does through network-boot's own code
 * (`decideBoot` for DHCP, `runIpxe` for the scripts Ironic writes). Power state is this object's
 * truth: a boot in progress is cancelled by power off or reset (an AbortSignal per run). Soft off
 * is honoured only while an OS that handles ACPI runs (the ramdisk, a deployed image), never in
 * POST or firmware, as on real hardware.
 */
import type { Duplex } from 'node:stream';
import { createLogger, StateError } from '../../../common/src/index.ts';
import {
  type ClientKind,
  clientArchFor,
  type DhcpClientRequest,
  type Firmware,
  IPXE_NO_PXEDHCP,
  type IpxeResult,
  ipxeSettings,
  parseKernelArgs,
  runIpxe,
} from '../../../network-boot/src/index.ts';
import {
  type BootDevice,
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
import { SimConsole } from './console.ts';
import { VirtualDisk } from './disk.ts';
import type { SimBootNetwork, SimDhcpOffer } from './network.ts';
import { type MachineSnapshot, restoreSnapshot, takeSnapshot } from './snapshot.ts';
import { DEFAULT_TIMINGS, SimClock, type SimTimings, seedFor } from './timing.ts';

const log = createLogger('vm-fleet:sim');

/** Where the machine is; `powerState()` is 'on' for every run state except 'off'. */
export type SimRunState = 'off' | 'post' | 'pxe' | 'disk-boot' | 'ramdisk' | 'os' | 'setup' | 'no-boot';

export interface RamdiskBoot {
  readonly machine: SimMachine;
  /** MAC of the NIC that network-booted. */
  readonly mac: string;
  /** The address DHCP gave that NIC. */
  readonly ip: string;
  readonly kernelUrl: string;
  readonly initrdUrls: readonly string[];
  /** The kernel command line, raw and parsed (`ipa-api-url`, `BOOTIF`, `ipa-inspection-callback-url`, ...). */
  readonly cmdline: string;
  readonly kernelArgs: Readonly<Record<string, string>>;
}

export interface SimMachineOptions {
  readonly spec: MachineSpec;
  /** The boot network; without one, PXE finds no DHCP server. */
  readonly network?: SimBootNetwork;
  /**
   * `ipxe` (default): iPXE in the NIC ROM, as QEMU has it, so no TFTP file is needed; `pxe`: a classic
   * PXE ROM, as most servers have, that first chainloads iPXE over TFTP (undionly.kpxe / snponly.efi
   * must then exist in the TFTP root the fetcher reaches).
   */
  readonly nicRom?: 'pxe' | 'ipxe';
  readonly timings?: Partial<SimTimings>;
  /** Multiplies every phase (0.01 in CI); 1 = realistic. */
  readonly timeScale?: number;
  readonly seed?: number;
  /** SMBIOS system UUID (`${uuid}` in iPXE, option 97). */
  readonly uuid?: string;
  /** Called once the agent ramdisk has booted: the lab starts this node's agent here. */
  readonly onRamdiskBoot?: (boot: RamdiskBoot) => void | Promise<void>;
  readonly now?: () => number;
}

/**
 * What of a sim machine outlives a restart of the lab, as JSON-safe data: whether it was on, its
 * boot override (persistent, or one-time and not yet consumed), what its disks hold, and the device
 * it last booted from.
 */
/** What of a sim machine outlives a restart of the lab (see `MachineSnapshot`). */
export type SimMachineSnapshot = MachineSnapshot;

type DeviceResult = { booted: true } | { booted: false; reason: string; halt?: boolean } | { restart: true };

class PoweredOff extends Error {}

export class SimMachine implements Machine {
  readonly id: string;
  readonly spec: MachineSpec;
  readonly serial = new SimConsole();
  readonly disks: readonly VirtualDisk[];
  readonly #opts: SimMachineOptions;
  readonly #events = new MachineEvents();
  readonly #timer: PowerOnTimer;
  readonly #clock: SimClock;
  #override: BootOverride = NO_OVERRIDE;
  #state: SimRunState = 'off';
  #trying: BootDevice | undefined;
  #run: AbortController | undefined;
  #acpi = false;
  #bootCount = 0;
  #ramdiskHook: SimMachineOptions['onRamdiskBoot'];
  readonly #changeListeners = new Set<() => void>();
  /** The last network boot's kernel command line (status and tests). */
  lastRamdisk: RamdiskBoot | undefined;
  /** The device the last successful boot used. */
  lastBootDevice: BootDevice | undefined;

  constructor(opts: SimMachineOptions) {
    this.#opts = opts;
    this.spec = opts.spec;
    this.id = opts.spec.name;
    this.disks = opts.spec.disks.map((d) => new VirtualDisk(d.name, d.sizeBytes, () => this.#changed()));
    this.#ramdiskHook = opts.onRamdiskBoot;
    this.#timer = new PowerOnTimer(opts.now ?? (() => performance.now()));
    this.#clock = new SimClock(
      { ...DEFAULT_TIMINGS, ...opts.timings },
      opts.timeScale ?? 1,
      seedFor(opts.seed ?? 1, opts.spec.name),
    );
  }

  powerState(): PowerState {
    return this.#state === 'off' ? 'off' : 'on';
  }

  runState(): SimRunState {
    return this.#state;
  }

  /** How many times the machine started booting (power on, reset, guest reboot). */
  get bootCount(): number {
    return this.#bootCount;
  }

  async powerOn(): Promise<void> {
    if (this.#state !== 'off') return;
    this.#setPower('on', 'command');
    this.#startBoot();
  }

  async powerOff(): Promise<void> {
    if (this.#state === 'off') return;
    this.#off('command');
  }

  async softOff(): Promise<SoftOffResult> {
    if (this.#state === 'off') return { accepted: true };
    // POST, option ROMs and iPXE have no ACPI handler: the button press is lost.
    if (!this.#acpi) return { accepted: false };
    const run = this.#run;
    this.serial.println('The system is going down NOW!');
    this.#clock
      .wait(this.#clock.timings.acpiShutdownMs, run?.signal ?? new AbortController().signal)
      .then(() => {
        if (this.#run === run && this.#state !== 'off') this.#off('soft-off');
      })
      .catch(() => {});
    return { accepted: true };
  }

  async reset(): Promise<void> {
    if (this.#state === 'off') return;
    this.#startBoot();
  }

  async diagnosticInterrupt(): Promise<void> {
    this.#events.emit({ type: 'nmi' });
    if (this.#state === 'ramdisk' || this.#state === 'os')
      this.serial.println('Uhhuh. NMI received for unknown reason 3c on CPU 0.');
  }

  bootOverride(): BootOverride {
    return this.#override;
  }

  setBootOverride(override: BootOverride): void {
    this.#override = override;
    this.#changed();
  }

  /** The state a restarted lab puts back (see `MachineSnapshot`). */
  snapshot(): SimMachineSnapshot {
    return takeSnapshot({
      power: this.powerState(),
      override: this.#override,
      disks: this.disks,
      lastBootDevice: this.lastBootDevice,
      timer: this.#timer,
    });
  }

  /** Puts a snapshot back into a machine that is off (power is the BMC's restore policy's call). */
  restore(snap: SimMachineSnapshot): void {
    if (this.#state !== 'off')
      throw new StateError(this.#state, ['off'], `${this.id}: restore needs the machine off`);
    const r = restoreSnapshot(this.id, snap, this.disks, this.#timer);
    this.#override = r.override;
    this.lastBootDevice = r.lastBootDevice;
  }

  /** Called whenever what `snapshot()` returns may have changed; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  poweredOnMs(): number {
    return this.#timer.totalMs();
  }

  subscribe(listener: MachineListener): () => void {
    return this.#events.subscribe(listener);
  }

  /** The serial console as a stream (Serial-over-LAN). */
  openConsole(): Duplex {
    return this.serial.openStream();
  }

  /** Replaces the ramdisk hook (the lab may create the fleet before its agent runner exists). */
  setRamdiskHook(hook: SimMachineOptions['onRamdiskBoot']): void {
    this.#ramdiskHook = hook;
  }

  /** The running OS powers the machine off (`poweroff -f`, the agent's `standby.power_off`). */
  guestPowerOff(): void {
    if (this.#state === 'ramdisk' || this.#state === 'os') this.#off('guest');
  }

  /** The running OS reboots (`reboot`): power stays on and the firmware boots again. */
  guestReboot(): void {
    if (this.#state === 'ramdisk' || this.#state === 'os') this.#startBoot();
  }

  // --- internals -------------------------------------------------------------------------

  #setPower(state: PowerState, cause: PowerCause): void {
    if (state === 'on') this.#timer.on();
    else this.#timer.off();
    this.serial.setPowered(state === 'on');
    this.#events.emit({ type: 'power', state, cause });
    this.#changed();
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

  #off(cause: PowerCause): void {
    this.#run?.abort(new PoweredOff());
    this.#run = undefined;
    this.#state = 'off';
    this.#acpi = false;
    this.#setPower('off', cause);
  }

  #startBoot(): void {
    this.#run?.abort(new PoweredOff());
    const run = new AbortController();
    this.#run = run;
    this.#bootCount++;
    this.#boot(run.signal).catch((e: unknown) => {
      if (run.signal.aborted) return; // power off or reset: the run just stops
      log.warn('%s: boot failed unexpectedly: %s', this.id, (e as Error).message);
      this.serial.println(`Internal error: ${(e as Error).message}`);
    });
  }

  async #boot(signal: AbortSignal): Promise<void> {
    this.#state = 'post';
    this.#acpi = false;
    this.#events.emit({ type: 'post' });
    this.serial.println('BIOS POST: memory test, enumerating devices');
    await this.#clock.wait(this.#clock.timings.postMs, signal);

    // The firmware reads the boot flags once per boot (IPMI v2.0 sec. 28.12): a one-time override
    // is consumed by this boot, a persistent one stays.
    const o = this.#override;
    const overridden = o.device !== 'none';
    if (overridden && !o.persistent) {
      this.#override = { ...NO_OVERRIDE, mode: o.mode };
      this.#events.emit({ type: 'boot-override-cleared', reason: 'consumed' });
      this.#changed();
    }
    const firmware: Firmware = o.mode === 'uefi' ? 'uefi' : 'bios';
    const order = overridden
      ? [o.device, ...this.spec.bootOrder.filter((d) => d !== o.device)]
      : [...this.spec.bootOrder];

    for (const [i, device] of order.entries()) {
      this.#trying = device;
      this.#events.emit({ type: 'boot-source', device, override: overridden && i === 0 });
      const r = await this.#tryDevice(device, firmware, signal);
      if ('restart' in r) return this.#startBoot();
      if (r.booted) return;
      if (r.halt) return;
      this.serial.println(`Boot failed: ${r.reason}`);
      this.#events.emit({ type: 'boot-failed', reason: `${device}: ${r.reason}` });
    }
    // SeaBIOS: "No bootable device.  Retrying in 60 seconds." and then a full reboot, which reads
    // the boot flags again (a provisioning system may have set some meanwhile).
    this.#state = 'no-boot';
    this.serial.println('No bootable device.  Retrying in 60 seconds.');
    await this.#clock.wait(this.#clock.timings.noBootRetryMs, signal);
    this.#startBoot();
  }

  async #tryDevice(device: BootDevice, firmware: Firmware, signal: AbortSignal): Promise<DeviceResult> {
    switch (device) {
      case 'pxe':
        return this.#networkBoot(firmware, signal);
      case 'disk':
        return this.#diskBoot(signal);
      case 'bios':
        this.#state = 'setup';
        this.serial.println('Entering Setup...');
        return { booted: false, reason: 'firmware setup requested', halt: true };
      default:
        return { booted: false, reason: `no ${device} media` };
    }
  }

  async #diskBoot(signal: AbortSignal, via = 'Hard Disk'): Promise<DeviceResult> {
    this.#state = 'disk-boot';
    this.serial.println(`Booting from ${via}...`);
    const image = this.disks[0]?.contents();
    if (image === undefined || image.bootable === false) {
      return { booted: false, reason: image === undefined ? 'not a bootable disk' : 'no bootloader on disk' };
    }
    await this.#clock.wait(this.#clock.timings.diskBootloaderMs, signal);
    const os = image.os ?? 'deployed image';
    this.serial.println(`Loading ${os} ...`);
    await this.#clock.wait(this.#clock.timings.diskOsBootMs, signal);
    for (const line of image.consoleLines ?? []) this.serial.println(line);
    this.serial.println(`${this.spec.name} login:`);
    this.#state = 'os';
    this.#acpi = image.acpi !== false;
    this.lastBootDevice = this.#trying;
    this.#changed();
    this.#events.emit({ type: 'os-reached', os });
    return { booted: true };
  }

  #step(step: string, detail?: string): void {
    this.#events.emit(
      detail === undefined ? { type: 'network-boot', step } : { type: 'network-boot', step, detail },
    );
  }

  /** One NIC's network boot, as its option ROM and then iPXE would do it. */
  async #networkBoot(firmware: Firmware, signal: AbortSignal): Promise<DeviceResult> {
    this.#state = 'pxe';
    const nic = this.spec.nics[0];
    if (nic === undefined) return { booted: false, reason: 'no network adapter' };
    const mac = nic.mac.toLowerCase();
    const t = this.#clock.timings;
    const net = this.#opts.network;
    const rom = this.#opts.nicRom ?? 'ipxe';

    let ipxeOffer: SimDhcpOffer | undefined;
    if (rom === 'pxe') {
      this.serial.println(`PXE 2.1 Boot Agent, MAC ${mac}`);
      const offer = await this.#dhcp({ mac, ...pxeRomIdentity(firmware) }, 'pxe', signal);
      if (offer === undefined)
        return { booted: false, reason: 'PXE-E51: No DHCP or proxyDHCP offers were received' };
      const file = offer.answer.bootFile;
      if (file === undefined) return { booted: false, reason: 'PXE-E53: No boot filename received' };
      const url = /^[a-z]+:\/\//i.test(file)
        ? file
        : `tftp://${offer.answer.nextServer ?? offer.server}/${file}`;
      this.#step('tftp', url);
      const got = await net!.fetcher.image(url);
      await this.#clock.wait(t.tftpMs, signal);
      if (!got.ok) return { booted: false, reason: `PXE-E32: TFTP open timeout (${url}: ${got.error})` };
      this.serial.println(`iPXE initialising devices... ok (chainloaded ${file}, ${got.value} bytes)`);
    } else {
      this.serial.println('iPXE (PCI 00:03.0) starting execution...');
    }
    this.serial.println('Press Ctrl-B for the iPXE command line...');
    await this.#clock.wait(t.ipxeBannerMs, signal);
    this.serial.println(`Configuring (net0 ${mac})...`);
    ipxeOffer = await this.#dhcp(
      { mac, ...pxeRomIdentity(firmware), userClass: 'iPXE', ipxeEncap: IPXE_FEATURES },
      'ipxe',
      signal,
    );
    if (ipxeOffer === undefined)
      return { booted: false, reason: 'No configuration methods succeeded (http://ipxe.org/040ee186)' };
    const file = ipxeOffer.answer.bootFile;
    if (file === undefined)
      return {
        booted: false,
        reason: 'Nothing to boot: No such file or directory (http://ipxe.org/2d03e13b)',
      };
    const scriptUrl = /^[a-z]+:\/\//i.test(file)
      ? file
      : `tftp://${ipxeOffer.answer.nextServer ?? ipxeOffer.server}/${file}`;
    this.#step('script', scriptUrl);

    const result: IpxeResult = await this.#runScript(scriptUrl, {
      settings: ipxeSettings({
        macs: this.spec.nics.map((n) => n.mac),
        ip: ipxeOffer.address,
        platform: firmware === 'uefi' ? 'efi' : 'pcbios',
        filename: file,
        ...(this.#opts.uuid !== undefined ? { uuid: this.#opts.uuid } : {}),
      }),
      fetcher: net!.fetcher,
      onOutput: (line) => this.serial.println(line),
    });
    if (signal.aborted) throw signal.reason;
    const fetches = result.fetched.length;
    await this.#clock.wait(fetches * t.httpRequestMs, signal);

    switch (result.kind) {
      case 'boot': {
        const bytes = result.kernel.size + result.initrds.reduce((n, i) => n + i.size, 0);
        this.#step('kernel', result.kernel.url);
        await this.#clock.wait((bytes / t.httpBytesPerSecond) * 1000 + t.kernelStartMs, signal);
        this.serial.println(`Linux version 6.1.0 (bmlab sim) ${result.kernel.args}`);
        await this.#clock.wait(t.ramdiskBootMs, signal);
        const boot: RamdiskBoot = {
          machine: this,
          mac,
          ip: ipxeOffer.address,
          kernelUrl: result.kernel.url,
          initrdUrls: result.initrds.map((i) => i.url),
          cmdline: result.kernel.args,
          kernelArgs: parseKernelArgs(result.kernel.args),
        };
        this.#state = 'ramdisk';
        this.#acpi = true;
        this.lastRamdisk = boot;
        this.serial.println('ramdisk: network up, starting agent');
        this.#step('ramdisk', boot.kernelArgs['ipa-api-url'] ?? boot.cmdline);
        this.lastBootDevice = this.#trying;
        this.#changed();
        this.#callRamdiskHook(boot);
        this.#events.emit({ type: 'os-reached', os: 'ramdisk' });
        return { booted: true };
      }
      case 'sanboot':
        this.#step('sanboot', result.target ?? 'local disk');
        return this.#diskBoot(signal, result.target ?? 'local disk (sanboot)');
      case 'exit':
        // iPXE returns to the firmware, which tries its next boot device (reference sec. 4, "PXE-then-exit").
        return { booted: false, reason: `iPXE exited (${result.code})` };
      case 'reboot':
        this.serial.println('Rebooting...');
        return { restart: true };
      case 'poweroff':
        this.#off('guest');
        throw new PoweredOff();
      case 'failed':
        return { booted: false, reason: result.reason };
      case 'hang':
        // Waiting for a key nobody presses: the machine stays here until power off or reset.
        this.#step('hang', result.reason);
        await new Promise<never>((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
        throw new PoweredOff();
    }
  }

  /** A fetcher that throws is a network failure to iPXE, not a crash of the machine. */
  async #runScript(url: string, opts: Parameters<typeof runIpxe>[1]): Promise<IpxeResult> {
    try {
      return await runIpxe(url, opts);
    } catch (e) {
      const reason = `Could not boot image: ${(e as Error).message}`;
      this.serial.println(reason);
      return { kind: 'failed', reason, output: [], fetched: [url] };
    }
  }

  async #dhcp(
    req: DhcpClientRequest,
    as: ClientKind,
    signal: AbortSignal,
  ): Promise<SimDhcpOffer | undefined> {
    const t = this.#clock.timings;
    const offer = this.#opts.network?.dhcp(req);
    if (offer === undefined) {
      this.#step('dhcp-timeout', as);
      await this.#clock.wait(t.dhcpTimeoutMs, signal);
      return undefined;
    }
    const noProxy = sameBytes(offer.answer.ipxeEncap, IPXE_NO_PXEDHCP);
    this.#step('dhcp', `${as} ${offer.address} ${offer.answer.bootFile ?? '(no boot file)'}`);
    // iPXE without 175.176 waits for ProxyDHCP offers; a PXE ROM does not.
    await this.#clock.wait(as === 'ipxe' && !noProxy ? t.dhcpMs + t.proxyDhcpWaitMs : t.dhcpMs, signal);
    if (as === 'ipxe') this.serial.println(`net0: ${offer.address}/24 ... ok`);
    return offer;
  }

  #callRamdiskHook(boot: RamdiskBoot): void {
    const hook = this.#ramdiskHook;
    if (!hook) return;
    const failed = (e: unknown) => {
      log.warn('%s: onRamdiskBoot failed: %s', this.id, (e as Error).message);
      this.serial.println(`agent: failed to start: ${(e as Error).message}`);
    };
    try {
      // Started synchronously, so the agent exists by the time os-reached is seen; not awaited.
      void Promise.resolve(hook(boot)).catch(failed);
    } catch (e) {
      failed(e);
    }
  }
}

/** iPXE's option 175 feature list (HTTP, iSCSI, TFTP, DNS, bzImage), as it announces them. */
const IPXE_FEATURES = [16, 1, 2, 19, 1, 1, 17, 1, 1, 21, 1, 1, 23, 1, 1, 24, 1, 1];

function pxeRomIdentity(firmware: Firmware): { vendorClassId: string; clientArch: number } {
  const arch = clientArchFor(firmware);
  return { vendorClassId: `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`, clientArch: arch };
}

function sameBytes(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
