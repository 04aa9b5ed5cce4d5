/**
 * FreeIPMI's ipmiconsole over Serial-over-LAN to a real QEMU machine: the console shows the VM's
 * firmware (SeaBIOS, then the NIC's iPXE ROM) live as ipmitool powers it on, and `&.` leaves.
 * ipmiconsole only talks to port 623, so `bmlab bmc serve --backend qemu` and the clients run in a
 * private network namespace (QEMU's user networking needs nothing from the host's network).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hasCommand } from '../support/bmc.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const canNetns = process.getuid?.() === 0 && hasCommand('unshare') && hasCommand('ip');

describe.skipIf(!canNetns || !hasCommand('ipmiconsole') || !hasCommand('script') || !hasCommand('ipmitool'))(
  'ipmiconsole to a QEMU machine',
  () => {
    it('shows the VM firmware live on power on; &. leaves; the VM is gone with the BMC', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bmlab-qemu-ipmiconsole-'));
      const serveLog = join(dir, 'serve.out');
      const script = `
        set -e
        ip link set lo up
        timeout 90 node bin/bmlab.mjs bmc serve --nodes 1 --base-port 623 --backend qemu --state-dir ${dir}/state > ${serveLog} 2>&1 &
        pid=$!
        for i in $(seq 1 300); do grep -q ready ${serveLog} && break; sleep 0.1; done
        (sleep 2; ipmitool -I lanplus -H 127.0.0.1 -U admin -P password chassis bootdev pxe > /dev/null;
         ipmitool -I lanplus -H 127.0.0.1 -U admin -P password power on > /dev/null; sleep 12; printf '&.'; sleep 1) |
          timeout 40 script -qfec "ipmiconsole -h 127.0.0.1 -u admin -p password" /dev/null || true
        kill $pid
        wait $pid || true
      `;
      try {
        const r = await execa('unshare', ['-n', 'sh', '-c', script], {
          cwd: root,
          reject: false,
          timeout: 120_000,
          all: true,
        });
        expect(r.all).toMatch(/SeaBIOS/);
        expect(r.all).toMatch(/iPXE/);
        expect(r.all).toContain('[closing the connection]');
        // No QEMU of this BMC outlives it.
        const left: string[] = [];
        for (const p of await readdir('/proc')) {
          if (!/^\d+$/.test(p)) continue;
          const argv = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).split('\0');
          if (argv[0]?.includes('qemu-system') && argv.some((a) => a.includes(dir))) left.push(p);
        }
        expect(left).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 150_000);
  },
);
