/**
 * `bmlab bmc serve --backend qemu`: real QEMU VMs behind the BMCs, started and stopped by ipmitool;
 * the VM's NIC ROM asks the boot root for boot.ipxe (none here, so it falls through to the empty
 * disk); SIGTERM leaves no QEMU behind.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hasCommand, ipmitool } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const qemuOf = async (dir: string) =>
  (await execa('pgrep', ['-f', `qemu-system.*${dir}`], { reject: false })).stdout.trim();

describe.skipIf(!hasCommand('ipmitool') || !hasCommand('qemu-system-x86_64'))(
  'bmlab bmc serve --backend qemu',
  () => {
    it('ipmitool powers a real VM on and off; it network-boots from the boot root; SIGTERM leaves no QEMU', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bmlab-serve-qemu-'));
      const port = await freePort();
      const proc = execa(
        'node',
        [BIN, 'bmc', 'serve', '--backend', 'qemu', '--base-port', String(port), '--state-dir', dir],
        {
          reject: false,
          buffer: false,
        },
      );
      const lines: string[] = [];
      await new Promise<void>((resolve, reject) => {
        proc.stdout?.on('data', (d: Buffer) => {
          for (const l of d.toString().split('\n'))
            if (l === 'ready') resolve();
            else if (l !== '') lines.push(l);
        });
        proc.once('exit', (c) => reject(new Error(`bmc serve exited ${c}`)));
      });
      try {
        expect(lines[1]).toMatch(new RegExp(`^boot root http://127\\.0\\.0\\.1:\\d+ \\(${dir}/httpboot\\)$`));
        expect((await ipmitool(port, ['chassis', 'bootdev', 'pxe'])).ok).toBe(true);
        expect((await ipmitool(port, ['power', 'on'])).out).toContain('Up/On');
        expect((await ipmitool(port, ['power', 'status'])).out).toContain('Chassis Power is on');
        expect(await qemuOf(dir)).not.toBe('');
        // iPXE asked the boot root for its script (there is none), then fell through to the disk.
        const log = join(dir, 'qemu', 'node-0', 'serial.log');
        for (let i = 0; i < 150 && !/No bootable device/.test(readFileSync(log, 'utf8')); i++) {
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(readFileSync(log, 'utf8')).toMatch(/iPXE[\s\S]*No bootable device/);
        expect((await ipmitool(port, ['power', 'off'])).ok).toBe(true);
        expect((await ipmitool(port, ['power', 'status'])).out).toContain('Chassis Power is off');
        expect(await qemuOf(dir)).toBe('');
        await ipmitool(port, ['power', 'on']);
        expect(await qemuOf(dir)).not.toBe('');
      } finally {
        proc.kill('SIGTERM');
      }
      expect((await proc).exitCode).toBe(0);
      expect(await qemuOf(dir)).toBe('');
    }, 120_000);
  },
);
