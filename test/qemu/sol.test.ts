/**
 * Serial-over-LAN on the qemu backend, with the real ipmitool: `sol activate` against the BMC of a
 * real QEMU machine shows its serial port live (SeaBIOS, iPXE, Linux, the agent ramdisk) and what is
 * typed reaches the ramdisk's shell, which answers; the session survives a power cycle (a new QEMU
 * process on the same console); `~.` leaves and the payload is released.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bmc, BmcEndpoint, createBmcState } from '../../bmc-emulator/src/index.ts';
import type { MachineSpec } from '../../vm-fleet/src/index.ts';
import { ensureImages, QemuMachine } from '../../vm-fleet/src/qemu/index.ts';
import { hasCommand, ipmitool } from '../support/bmc.ts';
import { LabServer } from './lab-server.ts';

const spec: MachineSpec = {
  name: 'qemu-sol-0',
  cpus: 1,
  memoryMiB: 256,
  arch: 'x86_64',
  nics: [{ mac: '52:54:00:00:0b:00' }],
  disks: [{ name: 'vda', sizeBytes: 1024 ** 3 }],
  bootOrder: ['disk', 'pxe'],
};

/** Collects a process's output and waits for patterns in it. */
function watch(stream: NodeJS.ReadableStream) {
  let text = '';
  const waiters = new Set<() => void>();
  stream.on('data', (b: Buffer) => {
    text += b.toString('latin1');
    for (const w of waiters) w();
  });
  return {
    text: () => text,
    waitFor: (re: RegExp, ms: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!re.test(text)) return;
          waiters.delete(check);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${re} not seen; got: ${JSON.stringify(text.slice(-600))}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

describe.skipIf(!hasCommand('ipmitool') || !hasCommand('script'))(
  'Serial-over-LAN to a real QEMU machine, with ipmitool',
  () => {
    let dir: string;
    let lab: LabServer;
    let machine: QemuMachine;
    let endpoint: BmcEndpoint;
    let port: number;

    beforeAll(async () => {
      const images = await ensureImages();
      dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-sol-'));
      lab = new LabServer(spec.name);
      await lab.start();
      lab.files = { '/vmlinuz': images.kernel, '/initrd.gz': images.agentInitrd };
      machine = new QemuMachine({
        spec,
        dir: join(dir, spec.name),
        network: { mode: 'user', bootFile: `${lab.guestUrl}/boot.ipxe` },
        accel: 'tcg',
      });
      endpoint = await BmcEndpoint.listen(new Bmc({ state: createBmcState({ name: spec.name }), machine }), {
        address: '127.0.0.1',
        port: 0,
      });
      port = endpoint.address.port;
    });

    afterAll(async () => {
      await endpoint?.close();
      await machine?.powerOff();
      await lab?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('shows the boot live, types at the ramdisk shell and reads its answer, ~. leaves', async () => {
      lab.boot = { mode: 'agent' };
      // Through a pty (util-linux `script`), as a user's terminal: ipmitool puts it in raw mode.
      const cmd = `ipmitool -I lanplus -H 127.0.0.1 -p ${port} -U admin -P password sol activate`;
      const sol = execa('script', ['-qfec', cmd, '/dev/null'], {
        stdin: 'pipe',
        reject: false,
        timeout: 150_000,
        all: true,
      });
      const out = watch(sol.all as NodeJS.ReadableStream);
      try {
        await out.waitFor(/SOL Session operational/, 15_000);
        expect((await ipmitool(port, ['chassis', 'bootdev', 'pxe'])).ok).toBe(true);
        expect((await ipmitool(port, ['power', 'on'])).ok).toBe(true);
        // The console from the first instruction on: firmware, NIC ROM, kernel, the ramdisk.
        await out.waitFor(/SeaBIOS/, 30_000);
        await out.waitFor(/iPXE/, 30_000);
        await out.waitFor(/Linux version 6\./, 90_000);
        await out.waitFor(/bmlab: agent ramdisk up/, 60_000);
        // The guest's own line endings reach the terminal (CR LF), not text rewritten by the lab.
        expect(out.text()).toMatch(/bmlab: agent ramdisk up\r\n/);
        await lab.waitHome((q) => q['event'] === 'up', 0, 60_000);

        // Only a shell that ran the line can print the product; the echo of the input shows $((...)).
        sol.stdin?.write('\r');
        await new Promise((r) => setTimeout(r, 500));
        sol.stdin?.write('echo sol-$((6*7))-answer; cat /sys/class/net/eth0/address\r');
        await out.waitFor(/sol-42-answer/, 30_000);
        await out.waitFor(/52:54:00:00:0b:00/, 10_000);
        expect(machine.serial.text()).toContain('sol-42-answer');

        const second = await ipmitool(port, ['sol', 'activate']);
        expect(second.out).toMatch(/SOL payload already active on another session/);

        // The session outlives the QEMU process: a power cycle is a new process on the same console.
        const pid = machine.pid;
        expect((await ipmitool(port, ['power', 'cycle'])).ok).toBe(true);
        expect(machine.pid).not.toBe(pid);
        const ups = () => out.text().split('bmlab: agent ramdisk up').length - 1;
        for (let i = 0; i < 1200 && ups() < 2; i++) await new Promise((r) => setTimeout(r, 100));
        expect(ups()).toBe(2);
        expect(out.text().split('SeaBIOS').length - 1).toBe(2);
        await new Promise((r) => setTimeout(r, 1000));
        sol.stdin?.write('echo again-$((7*6))\r');
        await out.waitFor(/again-42/, 30_000);

        sol.stdin?.write('\r~.');
        const r = await sol;
        expect(r.exitCode).toBe(0);
        expect(out.text()).toContain('terminated ipmitool');
      } finally {
        sol.kill();
      }
      expect((await ipmitool(port, ['raw', '0x06', '0x4a', '0x01'])).out.trim()).toBe('01 00 00');
      expect((await ipmitool(port, ['power', 'off'])).ok).toBe(true);
      expect(machine.powerState()).toBe('off');
    }, 240_000);
  },
);
