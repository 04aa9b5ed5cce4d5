import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type IpmiDriverInfo, IpmiTool } from './ipmitool.ts';
import { realTimers } from './timers.ts';

// A stand-in binary that reports the HOME it was given and the first line of the enterprise-number
// list ipmitool would read there: what is under test is the environment, not ipmitool.
const dir = mkdtempSync(join(tmpdir(), 'ipmitool-env-'));
const bin = join(dir, 'ipmitool');
writeFileSync(
  bin,
  '#!/bin/sh\nf="$HOME/.local/usr/share/misc/enterprise-numbers.txt"\n' +
    'if [ -f "$f" ]; then echo "$HOME>$(head -c 20 "$f" | tr "\\n" "|")"; else echo "$HOME>none"; fi\n',
);
chmodSync(bin, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const info: IpmiDriverInfo = {
  address: '127.0.0.1',
  port: '623',
  username: 'admin',
  password: 'password',
  privLevel: 'ADMINISTRATOR',
  protocolVersion: '2.0',
  cipherSuite: null,
  hexKgKey: null,
  disableBootTimeout: true,
};

function tool(oemList?: 'short' | 'system'): IpmiTool {
  return new IpmiTool({
    binary: bin,
    minCommandInterval: 0.001,
    commandRetryTimeout: 1,
    timers: realTimers,
    ...(oemList ? { oemList } : {}),
  });
}

describe('the IANA list ipmitool loads', () => {
  it('is the one-entry list for every command but `mc info`, which gets the system list', async () => {
    const t = tool();
    try {
      const [home, list] = (await t.exec(info, 'power status')).split('>');
      expect(home).not.toBe(process.env['HOME']);
      expect(list).toBe('0|  Reserved|    Int');
      expect((await t.exec(info, 'mc info')).split('>')[0]).toBe(process.env['HOME']);
    } finally {
      await t.dispose();
    }
  });

  it('is the system list for every command with oemList system', async () => {
    const t = tool('system');
    try {
      expect((await t.exec(info, 'power status')).split('>')[0]).toBe(process.env['HOME']);
    } finally {
      await t.dispose();
    }
  });
});
