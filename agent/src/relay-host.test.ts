/**
 * RelayHost against a guest that behaves as the relay loop of scripts/build-images.sh: it polls
 * `/relay`, runs `wget -O - <url> | dd of=/dev/vda`, phones home `event=written&rc=<rc>`, and halts on
 * `poweroff`. The agent's deploy then really moves bytes through the guest's side of the wire.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.ts';
import type { CommandResultJson } from './commands.ts';
import { inventoryFromGuestReport, parseGuestReport, RelayHost } from './relay-host.ts';
import { IronicStub, serveImage } from './testing.ts';

const mac = '52:54:00:00:00:09';

/** What the relay of scripts/build-images.sh sends with `event=up`, as a 2-vCPU, 2 GiB guest reported it. */
const REPORT = `cmdline=console=ttyS0 ipa-api-url=http://127.0.0.1:6385 BOOTIF=01-52-54-00-00-00-09
arch=x86_64
cpu_count=2
cpu_model=QEMU Virtual CPU version 2.5+
cpu_mhz=2599.998
cpu_flags=fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm nopl cpuid pni cx16 hypervisor lahf_lm
cpu_sockets=1
mem_total_kb=2011480
dimm_mb=2048
disk=vda 8589934592 1 n9-disk0
nic=eth0 52:54:00:00:00:09 1 10.0.2.15
`;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** The lab's HTTP server: the three routes the relay uses. */
async function labServer(host: () => RelayHost): Promise<string> {
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://lab');
    if (u.pathname === '/relay') {
      const cmd = host().nextCommand();
      res.statusCode = cmd === undefined ? 204 : 200;
      res.end(cmd === undefined ? undefined : `${cmd}\n`);
    } else if (u.pathname.startsWith('/relay-image/')) {
      const stream = host().openImage(u.pathname.slice('/relay-image/'.length));
      if (stream === undefined) {
        res.statusCode = 404;
        res.end();
        return;
      }
      Readable.from(stream).pipe(res);
    } else if (u.pathname === '/phonehome') {
      host().phoneHome(Object.fromEntries(u.searchParams));
      res.end('ok\n');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The guest side of the relay, as the busybox script runs it. */
function guest(lab: string) {
  const state = { disk: Buffer.alloc(0) as Buffer, poweredOff: false, rebooted: false, stopped: false };
  const dd = (image: Buffer) => {
    // dd over the head of the disk, leaving what lies beyond.
    state.disk =
      state.disk.length > image.length ? Buffer.concat([image, state.disk.subarray(image.length)]) : image;
  };
  const loop = (async () => {
    await fetch(`${lab}/phonehome?role=agent&id=n9&mac=${mac}&ip=10.0.2.15&event=up`);
    while (!state.stopped) {
      const res = await fetch(`${lab}/relay?id=n9&mac=${mac}`);
      const cmd = res.status === 200 ? (await res.text()).trim().split(/\s+/) : [];
      if (cmd[0] === 'write') {
        let rc = 0;
        try {
          const img = await fetch(cmd[1]!);
          if (!img.ok) throw new Error(String(img.status));
          dd(Buffer.from(await img.arrayBuffer()));
        } catch {
          rc = 1;
        }
        await fetch(`${lab}/phonehome?role=agent&id=n9&mac=${mac}&event=written&rc=${rc}`);
      } else if (cmd[0] === 'poweroff' || cmd[0] === 'reboot') {
        state[cmd[0] === 'poweroff' ? 'poweredOff' : 'rebooted'] = true;
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  cleanups.push(async () => {
    state.stopped = true;
    await loop;
  });
  return state;
}

describe('the guest report', () => {
  it('becomes IPA inventory from what the guest measured', () => {
    const r = parseGuestReport(REPORT);
    expect(r.cmdline).toContain('ipa-api-url=http://127.0.0.1:6385');
    const inv = inventoryFromGuestReport(r, { hostname: 'n9', bmcAddress: '127.0.0.1' });
    expect(inv.cpu).toMatchObject({
      count: 2,
      architecture: 'x86_64',
      model_name: 'QEMU Virtual CPU version 2.5+',
    });
    expect(inv.cpu.flags).toContain('lm');
    expect(inv.memory).toEqual({ total: 2011480 * 1024, physical_mb: 2048 });
    expect(inv.disks).toEqual([
      expect.objectContaining({ name: '/dev/vda', size: 8589934592, rotational: true, serial: 'n9-disk0' }),
    ]);
    expect(inv.interfaces).toEqual([
      expect.objectContaining({
        name: 'eth0',
        mac_address: mac,
        has_carrier: true,
        ipv4_address: '10.0.2.15',
      }),
    ]);
    expect(inv.bmc_address).toBe('127.0.0.1');
  });

  it('without SMBIOS memory devices, physical_mb comes from MemTotal', () => {
    const inv = inventoryFromGuestReport(parseGuestReport('mem_total_kb=524288\n'), { hostname: 'x' });
    expect(inv.memory.physical_mb).toBe(512);
    expect(inv.disks).toEqual([]);
  });
});

describe('RelayHost', () => {
  it('write_image goes through the guest dd; power_off halts the guest', async () => {
    const ironic = await new IronicStub({ macs: [mac] }).start();
    const image = await serveImage(randomBytes(3 * 1024 * 1024 + 17));
    cleanups.push(
      () => ironic.stop(),
      () => image.stop(),
    );
    let host!: RelayHost;
    const lab = await labServer(() => host);
    host = new RelayHost({
      spec: {
        name: 'n9',
        cpus: 2,
        memoryMiB: 2048,
        arch: 'x86_64',
        nics: [{ mac }],
        disks: [{ name: 'vda', sizeBytes: 8 * 1024 ** 3 }],
      },
      report: parseGuestReport(REPORT),
      imageBaseUrl: `${lab}/relay-image`,
    });
    const vm = guest(lab);
    const agent = new Agent({
      cmdline: `ipa-api-url=${ironic.url} BOOTIF=${mac}`,
      host,
      heartbeatIntervalMs: 60_000,
    });
    await agent.start();
    cleanups.push(() => agent.stop());
    await agent.lookedUp;

    const post = async (name: string, params: unknown, wait: boolean) =>
      (
        await fetch(`${agent.callbackUrl}/v1/commands/?wait=${wait}&agent_token=${ironic.token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, params }),
        })
      ).json() as Promise<CommandResultJson>;

    const step = {
      interface: 'deploy',
      step: 'write_image',
      args: {
        image_info: { id: 'img-9', urls: [image.url], os_hash_algo: 'sha256', os_hash_value: image.sha256 },
      },
    };
    const done = await post('deploy.execute_deploy_step', { step, node: {}, ports: [] }, true);
    expect(done.command_status).toBe('SUCCEEDED');
    expect(vm.disk.length).toBe(image.bytes.length);
    expect(createHash('sha256').update(vm.disk).digest('hex')).toBe(image.sha256);

    // erase_devices_metadata: 1 MiB of zeros through the same dd.
    const erase = await post(
      'clean.execute_clean_step',
      { step: { interface: 'deploy', step: 'erase_devices_metadata' }, node: {}, ports: [] },
      true,
    );
    expect(erase.command_status).toBe('SUCCEEDED');
    expect(vm.disk.subarray(0, 1024 * 1024).every((b) => b === 0)).toBe(true);
    expect(vm.disk.subarray(1024 * 1024).equals(image.bytes.subarray(1024 * 1024))).toBe(true);

    await post('standby.power_off', {}, false);
    for (let i = 0; i < 500 && !vm.poweredOff; i++) await new Promise((r) => setTimeout(r, 10));
    expect(vm.poweredOff).toBe(true);
    expect(agent.stopped).toBe(true);
  });

  it('a failed dd fails write_image', async () => {
    let host!: RelayHost;
    const lab = await labServer(() => host);
    host = new RelayHost({
      spec: {
        name: 'n9',
        cpus: 1,
        memoryMiB: 512,
        arch: 'x86_64',
        nics: [{ mac }],
        disks: [{ name: 'vda', sizeBytes: 1024 ** 3 }],
      },
      report: parseGuestReport(REPORT),
      imageBaseUrl: `${lab}/no-such-route`,
    });
    guest(lab);
    async function* data() {
      yield Buffer.from('x');
    }
    await expect(host.writeImage('/dev/vda', data())).rejects.toThrow('dd on the guest exited with 1');
    await expect(host.writeImage('/dev/vdb', data())).rejects.toThrow('writes only /dev/vda');
  });
});
