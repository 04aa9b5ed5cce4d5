/**
 * FreeIPMI's ipmiconsole over Serial-over-LAN. ipmiconsole cannot be pointed at a port other than
 * 623 (its `host:port` form fails in getaddrinfo), so the BMC (`bmlab bmc serve`, sim backend) and
 * ipmiconsole run together in a private network namespace, where 623 on loopback is free.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hasCommand } from '../support/bmc.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const canNetns = process.getuid?.() === 0 && hasCommand('unshare') && hasCommand('ip');

describe.skipIf(!canNetns || !hasCommand('ipmiconsole') || !hasCommand('script'))('ipmiconsole', () => {
  it('shows the sim machine booting and echoes what is typed; &. leaves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-ipmiconsole-'));
    const serveLog = join(dir, 'serve.out');
    const script = `
      set -e
      ip link set lo up
      timeout 40 node bin/bmlab.mjs bmc serve --nodes 1 --base-port 623 --backend sim --time-scale 0.01 > ${serveLog} 2>&1 &
      pid=$!
      for i in $(seq 1 200); do grep -q ready ${serveLog} && break; sleep 0.1; done
      ipmitool -I lanplus -H 127.0.0.1 -U admin -P password power on > /dev/null
      (sleep 2; printf 'hello sol'; sleep 1; printf '&.'; sleep 1) |
        timeout 20 script -qfec "ipmiconsole -h 127.0.0.1 -u admin -p password" /dev/null || true
      kill $pid
    `;
    try {
      const r = await execa('unshare', ['-n', 'sh', '-c', script], {
        cwd: root,
        reject: false,
        timeout: 60_000,
        all: true,
      });
      expect(r.all).toMatch(/BIOS POST: memory test/);
      expect(r.all).toContain('hello sol');
      expect(r.all).toContain('[closing the connection]');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
