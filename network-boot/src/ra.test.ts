import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsmasqRaArgs, RouterAdvertiser } from './ra.ts';

const isRoot = process.getuid?.() === 0;
const hasDnsmasq = await execa('dnsmasq', ['--version'], { reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);
// Two namespaces joined by a veth pair: the lab side runs dnsmasq, the other side is a client whose
// kernel takes the RA (a kernel ignores RAs sent from its own namespace's addresses).
const lab = `bmlab-ra-lab-${process.pid}`;
const client = `bmlab-ra-cli-${process.pid}`;
const ip = (...args: string[]) => execa('ip', args);

describe('dnsmasqRaArgs', () => {
  it('turns DNS and DHCP off and advertises the interface prefixes only', () => {
    const a = dnsmasqRaArgs('br0');
    expect(a).toContain('--port=0');
    expect(a).toContain('--interface=br0');
    expect(a).toContain('--dhcp-range=::,constructor:br0,ra-only,64');
    expect(a.some((x) => x.startsWith('--dhcp-range=') && !x.includes('ra-only'))).toBe(false);
  });
});

describe.skipIf(!isRoot || !hasDnsmasq)('RouterAdvertiser in a private network namespace', () => {
  beforeAll(async () => {
    await ip('netns', 'add', lab);
    await ip('netns', 'add', client);
    // No duplicate address detection: link-local addresses are usable at once, so neither dnsmasq's
    // first advertisements nor the client's solicitations are held back by a tentative address.
    for (const ns of [lab, client]) {
      await execa('ip', [
        'netns',
        'exec',
        ns,
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.accept_dad=0',
        'net.ipv6.conf.default.accept_dad=0',
      ]);
    }
    await ip('-n', lab, 'link', 'add', 'br0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client);
    await ip('-n', lab, '-6', 'addr', 'add', 'fd77::1/64', 'dev', 'br0', 'nodad');
    for (const [ns, dev] of [
      [lab, 'br0'],
      [client, 'eth0'],
      [lab, 'lo'],
      [client, 'lo'],
    ] as const)
      await ip('-n', ns, 'link', 'set', dev, 'up');
  });
  afterAll(async () => {
    await execa('ip', ['netns', 'del', lab], { reject: false });
    await execa('ip', ['netns', 'del', client], { reject: false });
  });

  it('answers router solicitations: the client autoconfigures an fd77:: address and a default route', async () => {
    const ra = await RouterAdvertiser.start({ iface: 'br0', execPrefix: ['ip', 'netns', 'exec', lab] });
    try {
      let addr = '';
      for (let i = 0; i < 100 && !addr.includes('fd77::'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        addr = (await ip('-n', client, '-6', 'addr', 'show', 'dev', 'eth0')).stdout;
      }
      expect(addr).toMatch(/inet6 fd77::[0-9a-f:]+\/64 scope global/);
      expect((await ip('-n', client, '-6', 'route', 'show', 'default')).stdout).toMatch(/proto ra/);
      expect(ra.log()).toContain('RTR-ADVERT(br0)');
    } finally {
      await ra.stop();
    }
  });
});
