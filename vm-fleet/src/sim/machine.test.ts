import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BootFetchEvent,
  directoryFetcher,
  LeasePool,
  type MacOverride,
  networkFetcher,
  startBootHttp,
  writeIronicBootFiles,
} from '../../../network-boot/src/index.ts';
import {
  type BootOverride,
  defaultMachineSpec,
  type MachineEvent,
  type MachineSpec,
  NO_OVERRIDE,
} from '../machine.ts';
import { type RamdiskBoot, SimMachine, type SimMachineOptions } from './machine.ts';
import { createSimBootNetwork } from './network.ts';
import { DEFAULT_TIMINGS, SimClock } from './timing.ts';

const HTTP = 'http://10.77.0.1:8080';
const API = 'http://10.77.0.1:6385';
const uuidOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
let root: string;
let tftpRoot: string;
const machines: SimMachine[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bmlab-sim-http-'));
  tftpRoot = await mkdtemp(join(tmpdir(), 'bmlab-sim-tftp-'));
  await writeFile(join(tftpRoot, 'undionly.kpxe'), Buffer.alloc(70_000));
  // Node 1 and 3 are set up for a deploy; node 2 has no config; node 4 boots its local disk.
  for (const i of [1, 3]) {
    await writeIronicBootFiles(root, {
      uuid: uuidOf(i),
      macs: [defaultMachineSpec(i).nics[0]!.mac],
      httpUrl: HTTP,
      apiUrl: API,
      appendParams: 'console=ttyS0 ipa-inspection-callback-url=http://10.77.0.1:5050/v1/continue',
    });
  }
  await writeIronicBootFiles(root, {
    uuid: uuidOf(4),
    macs: [defaultMachineSpec(4).nics[0]!.mac],
    httpUrl: HTTP,
    apiUrl: API,
    mode: 'local',
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(tftpRoot, { recursive: true, force: true });
});
afterEach(async () => {
  for (const m of machines.splice(0)) await m.powerOff();
});

function network(overrides: Record<string, MacOverride> = {}) {
  return createSimBootNetwork({
    policy: { nextServer: '10.77.0.1', scriptUrl: `${HTTP}/boot.ipxe`, overrides },
    pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.250'] }),
    fetcher: directoryFetcher({ http: [{ urlPrefix: `${HTTP}/`, dir: root }], tftpRoot }),
  });
}

interface Booted {
  m: SimMachine;
  events: MachineEvent[];
  ramdisks: RamdiskBoot[];
}

function machine(i: number, opts: Partial<SimMachineOptions> = {}, spec: Partial<MachineSpec> = {}): Booted {
  const events: MachineEvent[] = [];
  const ramdisks: RamdiskBoot[] = [];
  const m = new SimMachine({
    spec: { ...defaultMachineSpec(i), ...spec },
    network: network(),
    timeScale: 0.001,
    seed: 7,
    onRamdiskBoot: (b) => {
      ramdisks.push(b);
    },
    ...opts,
  });
  m.subscribe((e) => events.push(e));
  machines.push(m);
  return { m, events, ramdisks };
}

function until(m: SimMachine, pred: (e: MachineEvent) => boolean, timeoutMs = 5000): Promise<MachineEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`${m.id}: event not seen within ${timeoutMs} ms (state ${m.runState()})`));
    }, timeoutMs);
    const off = m.subscribe((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve(e);
    });
  });
}
const osReached = (os?: string) => (e: MachineEvent) =>
  e.type === 'os-reached' && (os === undefined || e.os === os);
const deployedImage = {
  checksum: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  sizeBytes: 25_165_824,
  os: 'Debian GNU/Linux 12',
  consoleLines: ['DEPLOYED-IMAGE-BOOTED'],
};
const pxeOnce: BootOverride = { device: 'pxe', persistent: false, mode: 'bios' };

describe('power and boot-flag semantics', () => {
  it.each<[string, (b: Booted) => Promise<void>]>([
    [
      'power on from off boots; power on again changes nothing',
      async ({ m, events }) => {
        await m.powerOn();
        expect(m.powerState()).toBe('on');
        await m.powerOn();
        expect(events.filter((e) => e.type === 'power')).toEqual([
          { type: 'power', state: 'on', cause: 'command' },
        ]);
      },
    ],
    [
      'hard off stops a boot in progress: no event after the off',
      async ({ m, events }) => {
        await m.powerOn();
        await m.powerOff();
        const n = events.length;
        await new Promise((r) => setTimeout(r, 50));
        expect(m.powerState()).toBe('off');
        expect(events.length).toBe(n);
        expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'command' });
      },
    ],
    [
      'soft off during POST is ignored (no ACPI handler in firmware)',
      async ({ m }) => {
        await m.powerOn();
        expect(m.runState()).toBe('post');
        expect(await m.softOff()).toEqual({ accepted: false });
        expect(m.powerState()).toBe('on');
      },
    ],
    [
      'soft off of a booted OS powers off with cause soft-off',
      async ({ m, events }) => {
        m.disks[0]!.write(deployedImage);
        await m.powerOn();
        await until(m, osReached());
        expect(await m.softOff()).toEqual({ accepted: true });
        await until(m, (e) => e.type === 'power' && e.state === 'off');
        expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'soft-off' });
      },
    ],
    [
      'soft off is refused by a deployed OS that ignores ACPI',
      async ({ m }) => {
        m.disks[0]!.write({ ...deployedImage, acpi: false });
        await m.powerOn();
        await until(m, osReached());
        expect(await m.softOff()).toEqual({ accepted: false });
        await new Promise((r) => setTimeout(r, 20));
        expect(m.powerState()).toBe('on');
      },
    ],
    [
      'a one-time override is consumed by the boot (mode kept), a persistent one stays',
      async ({ m, events }) => {
        m.setBootOverride({ device: 'disk', persistent: false, mode: 'uefi' });
        await m.powerOn();
        await until(m, (e) => e.type === 'boot-source');
        expect(m.bootOverride()).toEqual({ ...NO_OVERRIDE, mode: 'uefi' });
        expect(events).toContainEqual({ type: 'boot-override-cleared', reason: 'consumed' });
        const persistent: BootOverride = { device: 'disk', persistent: true, mode: 'bios' };
        m.setBootOverride(persistent);
        await m.reset();
        await until(m, (e) => e.type === 'boot-source');
        expect(m.bootOverride()).toEqual(persistent);
      },
    ],
    [
      'reset with a changed boot device boots the new device',
      async ({ m, ramdisks }) => {
        m.disks[0]!.write(deployedImage);
        await m.powerOn();
        await until(m, osReached('Debian GNU/Linux 12'));
        m.setBootOverride(pxeOnce);
        await m.reset();
        await until(m, osReached('ramdisk'));
        expect(m.lastBootDevice).toBe('pxe');
        expect(ramdisks).toHaveLength(1);
        await m.reset(); // the override was one-time: back to the boot order (disk first)
        await until(m, osReached('Debian GNU/Linux 12'));
        expect(m.bootCount).toBe(3);
      },
    ],
    [
      'reset while off does nothing',
      async ({ m, events }) => {
        await m.reset();
        expect(m.powerState()).toBe('off');
        expect(events).toEqual([]);
      },
    ],
    [
      'a BIOS-setup override stops in setup',
      async ({ m, events }) => {
        m.setBootOverride({ device: 'bios', persistent: false, mode: 'bios' });
        await m.powerOn();
        await until(m, (e) => e.type === 'boot-source');
        await new Promise((r) => setTimeout(r, 10));
        expect(m.runState()).toBe('setup');
        expect(events.some((e) => e.type === 'boot-failed')).toBe(false);
      },
    ],
    [
      'the running ramdisk powers the machine off itself (standby.power_off)',
      async ({ m, events }) => {
        m.setBootOverride(pxeOnce);
        await m.powerOn();
        await until(m, osReached('ramdisk'));
        m.guestPowerOff();
        expect(m.powerState()).toBe('off');
        expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'guest' });
      },
    ],
  ])('%s', async (_name, body) => {
    await body(machine(1, { timings: { postMs: 20_000 } }));
  });
});

describe('network boot', () => {
  it('PXE ROM -> TFTP iPXE -> DHCP as iPXE -> boot.ipxe -> config -> ramdisk hook with kernel args', async () => {
    const { m, events, ramdisks } = machine(1, { nicRom: 'pxe' });
    m.setBootOverride(pxeOnce);
    await m.powerOn();
    await until(m, osReached('ramdisk'));
    await new Promise((r) => setImmediate(r));
    const mac = defaultMachineSpec(1).nics[0]!.mac;
    expect(ramdisks).toHaveLength(1);
    const boot = ramdisks[0]!;
    expect(boot).toMatchObject({
      mac,
      ip: '10.77.0.100',
      kernelUrl: `${HTTP}/${uuidOf(1)}/deploy_kernel`,
      initrdUrls: [`${HTTP}/${uuidOf(1)}/deploy_ramdisk`],
    });
    expect(boot.kernelArgs).toMatchObject({
      'ipa-api-url': API,
      BOOTIF: mac,
      'ipa-inspection-callback-url': 'http://10.77.0.1:5050/v1/continue',
      console: 'ttyS0',
    });
    expect(m.runState()).toBe('ramdisk');
    expect(
      events.filter((e) => e.type === 'network-boot').map((e) => e.type === 'network-boot' && e.step),
    ).toEqual(['dhcp', 'tftp', 'dhcp', 'script', 'kernel', 'ramdisk']);
    expect(events).toContainEqual({
      type: 'network-boot',
      step: 'tftp',
      detail: 'tftp://10.77.0.1/undionly.kpxe',
    });
    expect(m.serial.text()).toContain('Attempting to boot from MAC 52-54-00-00-01-00');
  });

  it('a UEFI boot announces arch 7 and its PXE ROM chainloads the EFI build', async () => {
    const seen: string[] = [];
    const { m } = machine(3, {
      nicRom: 'pxe',
      network: createSimBootNetwork({
        policy: { nextServer: '10.77.0.1', scriptUrl: `${HTTP}/boot.ipxe` },
        pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.250'] }),
        fetcher: directoryFetcher({ http: [{ urlPrefix: `${HTTP}/`, dir: root }], tftpRoot }),
        onDhcp: (req, offer) =>
          seen.push(`${req.clientArch}:${req.userClass ?? '-'}:${offer?.answer.bootFile}`),
      }),
    });
    m.setBootOverride({ device: 'pxe', persistent: false, mode: 'uefi' });
    await m.powerOn();
    // snponly.efi is not in the TFTP root: the ROM gives up and the firmware moves on to the disk
    await until(m, (e) => e.type === 'boot-failed');
    expect(seen).toEqual(['7:-:snponly.efi']);
    await writeFile(join(tftpRoot, 'snponly.efi'), Buffer.alloc(1000));
    m.setBootOverride({ device: 'pxe', persistent: false, mode: 'uefi' });
    await m.reset();
    await until(m, osReached('ramdisk'));
    expect(seen.slice(1)).toEqual(['7:-:snponly.efi', `7:iPXE:${HTTP}/boot.ipxe`]);
  });

  it('follows the real HTTP path to a live boot server', async () => {
    const seen: BootFetchEvent[] = [];
    const srv = await startBootHttp({ root, onFetch: (e) => seen.push(e) });
    try {
      // The boot root's configs name HTTP; this server listens elsewhere, so write a node whose config points at it.
      const uuid = uuidOf(9);
      const mac = defaultMachineSpec(9).nics[0]!.mac;
      await writeIronicBootFiles(root, { uuid, macs: [mac], httpUrl: srv.url, apiUrl: API });
      const { m, ramdisks } = machine(9, {
        nicRom: 'ipxe',
        network: createSimBootNetwork({
          policy: { nextServer: '127.0.0.1', scriptUrl: `${srv.url}/boot.ipxe` },
          pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.250'] }),
          fetcher: networkFetcher(),
        }),
      });
      m.setBootOverride(pxeOnce);
      await m.powerOn();
      await until(m, osReached('ramdisk'));
      await new Promise((r) => setImmediate(r));
      expect(ramdisks[0]?.kernelArgs['ipa-api-url']).toBe(API);
      expect(seen.map((e) => `${e.method} ${e.path}`)).toEqual([
        'GET /boot.ipxe',
        `GET /pxelinux.cfg/${mac.replace(/:/g, '-')}`,
        `HEAD /${uuid}/deploy_kernel`,
        `HEAD /${uuid}/deploy_ramdisk`,
      ]);
    } finally {
      await srv.close();
    }
  });

  it.each<[string, () => Partial<SimMachineOptions>]>([
    ['no DHCP server at all', () => ({ network: undefined as never })],
    [
      'the DHCP server ignores this MAC',
      () => ({ network: network({ [defaultMachineSpec(1).nics[0]!.mac]: { ignore: true } }) }),
    ],
    [
      'the boot script is missing (HTTP 404)',
      () => ({
        network: createSimBootNetwork({
          policy: { nextServer: '10.77.0.1', scriptUrl: `${HTTP}/missing.ipxe` },
          pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.250'] }),
          fetcher: directoryFetcher({ http: [{ urlPrefix: `${HTTP}/`, dir: root }] }),
        }),
      }),
    ],
    [
      'fetching the script throws (connection reset)',
      () => {
        const n = network();
        const reset = async (): Promise<never> => {
          throw new Error('read ECONNRESET');
        };
        return { network: { dhcp: (req) => n.dhcp(req), fetcher: { script: reset, image: reset } } };
      },
    ],
  ])('falls through to the disk when %s', async (_name, opts) => {
    const { m, events } = machine(1, opts(), { bootOrder: ['pxe', 'disk'] });
    m.disks[0]!.write(deployedImage);
    await m.powerOn();
    await until(m, osReached('Debian GNU/Linux 12'));
    expect(
      events.filter((e) => e.type === 'boot-source').map((e) => e.type === 'boot-source' && e.device),
    ).toEqual(['pxe', 'disk']);
    expect(events.some((e) => e.type === 'boot-failed' && e.reason.startsWith('pxe:'))).toBe(true);
    expect(m.serial.text()).toContain('DEPLOYED-IMAGE-BOOTED');
  });

  it("no config for this node: Ironic's boot.ipxe says so, its prompt times out, the firmware boots the disk", async () => {
    // What QEMU's real iPXE ROM did with the same boot.ipxe and no pxelinux.cfg entry.
    const { m, events } = machine(2, {}, { bootOrder: ['pxe', 'disk'] });
    m.disks[0]!.write(deployedImage);
    await m.powerOn();
    await until(m, osReached('Debian GNU/Linux 12'));
    expect(m.serial.text()).toContain('PXE boot failed! No configuration found for any of the present NICs.');
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'boot-failed',
        reason: expect.stringContaining('pxe: Could not boot image: Connection timed out'),
      }),
    );
  });

  it('a prompt without timeout holds the machine in iPXE until a reset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bmlab-sim-prompt-'));
    await writeFile(join(dir, 'p.ipxe'), '#!ipxe\nprompt Press any key\n');
    const { m, events } = machine(
      5,
      {
        network: createSimBootNetwork({
          policy: { nextServer: '10.77.0.1', scriptUrl: 'http://h/p.ipxe' },
          pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.250'] }),
          fetcher: directoryFetcher({ http: [{ urlPrefix: 'http://h/', dir }] }),
        }),
      },
      { bootOrder: ['pxe', 'disk'] },
    );
    m.disks[0]!.write(deployedImage);
    await m.powerOn();
    await until(m, (e) => e.type === 'network-boot' && e.step === 'hang');
    await new Promise((r) => setTimeout(r, 30));
    expect(m.runState()).toBe('pxe');
    expect(events.some((e) => e.type === 'os-reached')).toBe(false);
    m.setBootOverride({ device: 'disk', persistent: false, mode: 'bios' });
    await m.reset();
    await until(m, osReached());
    await rm(dir, { recursive: true, force: true });
  });

  it('a local-boot config (sanboot) boots the disk through iPXE', async () => {
    const { m, events } = machine(4);
    m.disks[0]!.write(deployedImage);
    m.setBootOverride({ device: 'pxe', persistent: true, mode: 'bios' });
    await m.powerOn();
    await until(m, osReached('Debian GNU/Linux 12'));
    expect(events).toContainEqual({ type: 'network-boot', step: 'sanboot', detail: 'local disk' });
  });

  it('a script that exits hands back to the firmware, which boots the next device', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bmlab-sim-exit-'));
    await writeFile(join(dir, 'exit.ipxe'), '#!ipxe\necho local boot\nexit\n');
    const { m, events } = machine(
      5,
      {
        nicRom: 'ipxe',
        network: createSimBootNetwork({
          policy: { nextServer: '10.77.0.1', scriptUrl: 'http://h/exit.ipxe' },
          pool: new LeasePool({ range: ['10.77.0.100', '10.77.0.250'] }),
          fetcher: directoryFetcher({ http: [{ urlPrefix: 'http://h/', dir }] }),
        }),
      },
      { bootOrder: ['pxe', 'disk'] },
    );
    m.disks[0]!.write(deployedImage);
    await m.powerOn();
    await until(m, osReached());
    expect(events).toContainEqual({ type: 'boot-failed', reason: 'pxe: iPXE exited (0)' });
    await rm(dir, { recursive: true, force: true });
  });
});

describe('disk and console', () => {
  it('an empty disk prints "No bootable device" and the firmware reboots later', async () => {
    const { m, events } = machine(6, {}, { bootOrder: ['disk'] });
    await m.powerOn();
    await m.serial.waitFor(/No bootable device\./, 2000);
    expect(events).toContainEqual({ type: 'boot-failed', reason: 'disk: not a bootable disk' });
    await until(m, (e) => e.type === 'post' && m.bootCount === 2); // SeaBIOS reboots after 60 s
    expect(m.runState()).not.toBe('os');
  });

  it('an erased disk no longer boots; a written one does', async () => {
    const { m } = machine(7, {}, { bootOrder: ['disk'] });
    const disk = m.disks[0]!;
    disk.write(deployedImage);
    disk.erase();
    expect(disk.contents()).toBeUndefined();
    expect(() => disk.write({ ...deployedImage, sizeBytes: disk.sizeBytes + 1 })).toThrow(/does not fit/);
    await m.powerOn();
    await m.serial.waitFor(/No bootable device/, 2000);
    disk.write(deployedImage);
    await m.reset();
    await until(m, osReached());
  });

  it('echoes console input while on, streams output, and drops keys typed while off', async () => {
    const { m } = machine(8, { timings: { postMs: 1e6 } }); // stays in POST: no boot output meanwhile
    m.serial.write('lost\r');
    expect(m.serial.text()).toBe('');
    await m.powerOn();
    const bytes: Buffer[] = [];
    const off = m.serial.onOutput((b) => bytes.push(b));
    const stream = m.openConsole();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString('latin1')));
    const lines: string[] = [];
    m.serial.onInputLine = (l) => lines.push(l);
    const from = m.serial.offset;
    stream.write('root\r');
    await new Promise((r) => setImmediate(r));
    expect(m.serial.text(from)).toBe('root\r\n');
    expect(chunks.join('')).toBe('root\r\n');
    expect(lines).toEqual(['root']);
    expect(Buffer.concat(bytes).toString('latin1')).toBe('root\r\n');
    off();
    stream.destroy();
  });
});

describe('time and determinism', () => {
  it('the same seed gives the same phase lengths; timeScale scales them', () => {
    const a = new SimClock(DEFAULT_TIMINGS, 1, 42);
    const b = new SimClock(DEFAULT_TIMINGS, 1, 42);
    const c = new SimClock(DEFAULT_TIMINGS, 1, 43);
    const seq = (k: SimClock) => [1, 2, 3].map(() => k.duration(5000));
    const sa = seq(a);
    expect(seq(b)).toEqual(sa);
    expect(seq(c)).not.toEqual(sa);
    for (const d of sa) {
      expect(d).toBeGreaterThanOrEqual(4500);
      expect(d).toBeLessThanOrEqual(5500);
    }
    expect(new SimClock(DEFAULT_TIMINGS, 0.01, 42).duration(5000)).toBeCloseTo(sa[0]! * 0.01, 6);
  });
});
