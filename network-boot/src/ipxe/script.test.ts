import { describe, expect, it } from 'vitest';
import { IRONIC_BOOT_IPXE, ironicNodeConfig } from '../ironic-layout.ts';
import { defaultSettings, expand, type IpxeFetcher, parseKernelArgs, runIpxe } from './script.ts';

const UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const MAC = '52:54:00:00:00:01';
const HTTP = 'http://127.0.0.1:8088';

function memoryFetcher(files: Record<string, string | number>): IpxeFetcher & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async script(url) {
      log.push(`GET ${url}`);
      const f = files[url];
      return typeof f === 'string' ? { ok: true, value: f } : { ok: false, error: 'HTTP 404' };
    },
    async image(url) {
      log.push(`HEAD ${url}`);
      const f = files[url];
      return f === undefined
        ? { ok: false, error: 'HTTP 404' }
        : { ok: true, value: typeof f === 'number' ? f : f.length };
    },
  };
}

const settings = defaultSettings({ macs: [MAC, '52:54:00:00:01:01'], ip: '10.77.0.100', uuid: UUID });

describe('runIpxe against what Ironic writes', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${...} syntax
  it('boot.ipxe -> pxelinux.cfg/<mac> -> config: kernel line with ipa-api-url and BOOTIF=${mac}', async () => {
    const f = memoryFetcher({
      [`${HTTP}/boot.ipxe`]: IRONIC_BOOT_IPXE,
      [`${HTTP}/pxelinux.cfg/52-54-00-00-00-01`]: ironicNodeConfig({
        uuid: UUID,
        macs: [MAC],
        httpUrl: HTTP,
        apiUrl: 'http://127.0.0.1:6385',
        appendParams: 'console=ttyS0',
      }),
      [`${HTTP}/${UUID}/deploy_kernel`]: 14_186_432,
      [`${HTTP}/${UUID}/deploy_ramdisk`]: 1_187_042,
    });
    const r = await runIpxe(`${HTTP}/boot.ipxe`, { settings, fetcher: f });
    expect(r.kind).toBe('boot');
    if (r.kind !== 'boot') return;
    expect(r.kernel.url).toBe(`${HTTP}/${UUID}/deploy_kernel`);
    expect(r.kernel.size).toBe(14_186_432);
    const args = parseKernelArgs(r.kernel.args);
    expect(args).toMatchObject({
      BOOTIF: MAC,
      'ipa-api-url': 'http://127.0.0.1:6385',
      initrd: 'deploy_ramdisk',
      selinux: '0',
      text: '',
    });
    expect(r.initrds).toEqual([
      { url: `${HTTP}/${UUID}/deploy_ramdisk`, name: 'deploy_ramdisk', size: 1_187_042, args: '' },
    ]);
    expect(r.output).toContain('Attempting to boot from MAC 52-54-00-00-00-01');
    expect(f.log).toEqual([
      `GET ${HTTP}/boot.ipxe`,
      `GET ${HTTP}/pxelinux.cfg/52-54-00-00-00-01`,
      `HEAD ${HTTP}/${UUID}/deploy_kernel`,
      `HEAD ${HTTP}/${UUID}/deploy_ramdisk`,
    ]);
  });

  it('tries the second NIC when the first has no config', async () => {
    const f = memoryFetcher({
      [`${HTTP}/boot.ipxe`]: IRONIC_BOOT_IPXE,
      [`${HTTP}/pxelinux.cfg/52-54-00-00-01-01`]: ironicNodeConfig({
        uuid: UUID,
        macs: [MAC],
        httpUrl: HTTP,
        apiUrl: 'http://127.0.0.1:6385',
        appendParams: 'console=ttyS0',
      }),
      [`${HTTP}/${UUID}/deploy_kernel`]: 10,
      [`${HTTP}/${UUID}/deploy_ramdisk`]: 10,
    });
    const r = await runIpxe(`${HTTP}/boot.ipxe`, { settings, fetcher: f });
    expect(r.kind).toBe('boot');
    // BOOTIF is ${mac}: the boot NIC's (net0) address, as in real iPXE.
    expect(r.kind === 'boot' && parseKernelArgs(r.kernel.args)['BOOTIF']).toBe(MAC);
  });

  it('no config for any NIC: prints the failure, times out at the prompt and gives up (as the real ROM does)', async () => {
    const r = await runIpxe(`${HTTP}/boot.ipxe`, {
      settings,
      fetcher: memoryFetcher({ [`${HTTP}/boot.ipxe`]: IRONIC_BOOT_IPXE }),
    });
    expect(r.kind).toBe('failed');
    expect(r.kind === 'failed' && r.reason).toMatch(/^Could not boot image: Connection timed out/);
    expect(r.output).toEqual(
      expect.arrayContaining([
        'PXE boot failed! No configuration found for any of the present NICs.',
        'Press any key to reboot...',
        'Could not boot image: Connection timed out (http://ipxe.org/4c22e035)',
      ]),
    );
  });

  it('kernel missing: retries 10 times, then powers off (the template retry loop)', async () => {
    const f = memoryFetcher({
      [`${HTTP}/boot.ipxe`]: IRONIC_BOOT_IPXE,
      [`${HTTP}/pxelinux.cfg/52-54-00-00-00-01`]: ironicNodeConfig({
        uuid: UUID,
        macs: [MAC],
        httpUrl: HTTP,
        apiUrl: 'http://127.0.0.1:6385',
        appendParams: 'console=ttyS0',
      }),
    });
    const r = await runIpxe(`${HTTP}/boot.ipxe`, { settings, fetcher: f });
    expect(r.kind).toBe('poweroff');
    expect(f.log.filter((l) => l.includes('deploy_kernel'))).toHaveLength(11);
    expect(r.output).toContain('Failed to get a response after 10 attempts');
  });

  it.each([
    ['#!ipxe\nexit\n', { kind: 'exit', code: 0 }],
    ['#!ipxe\nexit 1\n', { kind: 'exit', code: 1 }],
    ['#!ipxe\nsanboot --no-describe\n', { kind: 'sanboot', target: undefined }],
    ['#!ipxe\nsanboot --drive 0x80\n', { kind: 'sanboot', target: undefined }],
    ['#!ipxe\necho nothing to do\n', { kind: 'failed', reason: 'script ended without booting' }],
    [
      '#!ipxe\nfrobnicate\necho unreachable\n',
      {
        kind: 'failed',
        reason: 'Could not boot image: frobnicate: command not found (script aborted at line 2: frobnicate)',
      },
    ],
    ['kernel x\nboot\n', { kind: 'failed', reason: 'not an iPXE script (no #!ipxe line)' }],
    [
      '#!ipxe\nboot\n',
      { kind: 'failed', reason: expect.stringMatching(/^Could not boot image: No such file/) },
    ],
    ['#!ipxe\nprompt Press a key\n', { kind: 'hang', reason: 'waiting for a key at an iPXE prompt' }],
    ['#!ipxe\nprompt --timeout 2000 Press a key || exit 5\n', { kind: 'exit', code: 5 }],
    ['#!ipxe\n:a\ngoto a\n', { kind: 'failed', reason: 'gave up after 100 commands' }],
  ])('%j -> %j', async (script, expected) => {
    const r = await runIpxe('http://h/s.ipxe', {
      settings,
      fetcher: memoryFetcher({ 'http://h/s.ipxe': script }),
      maxSteps: 100,
    });
    expect(r).toMatchObject(expected);
  });

  it('aborts at a failed command without ||, and reports it', async () => {
    const r = await runIpxe('http://h/s.ipxe', {
      settings,
      fetcher: memoryFetcher({ 'http://h/s.ipxe': '#!ipxe\nfrobnicate\necho unreachable\n' }),
    });
    expect(r.output).toEqual([
      'http://h/s.ipxe... ok',
      'frobnicate: command not found',
      'Could not boot image: frobnicate: command not found',
    ]);
  });

  it('chain resolves relative URLs and returns to the caller when the chained script ends', async () => {
    const f = memoryFetcher({
      'http://h/a/first.ipxe':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${...} syntax
        '#!ipxe\nchain ../b/second.ipxe?mac=${net0/mac:hexhyp} || echo chain failed\nkernel /k/vmlinuz quiet\nboot\n',
      'http://h/b/second.ipxe?mac=52-54-00-00-00-01': '#!ipxe\nset extra 1\n',
      'http://h/k/vmlinuz': 5,
    });
    const r = await runIpxe('http://h/a/first.ipxe', { settings, fetcher: f });
    expect(r).toMatchObject({ kind: 'boot', kernel: { url: 'http://h/k/vmlinuz', args: 'quiet' } });
    expect(r.fetched).toContain('http://h/b/second.ipxe?mac=52-54-00-00-00-01');
    expect(r.output).not.toContain('chain failed');
  });

  it('a relative URI with a colon is absolute to iPXE: unsupported scheme, as the real ROM reports', async () => {
    const f = memoryFetcher({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${...} syntax
      'http://h/s': '#!ipxe\nchain stage2.ipxe?mac=${net0/mac} || echo fallback\nexit 3\n',
    });
    const r = await runIpxe('http://h/s', { settings, fetcher: f });
    expect(r).toMatchObject({ kind: 'exit', code: 3 });
    expect(r.output).toContain(
      'Could not start download: Operation not supported (http://ipxe.org/3c092003)',
    );
    expect(r.output).toContain('fallback');
    expect(r.fetched).toEqual(['http://h/s']);
  });

  it('iseq && goto, imgargs, isset on an unset variable', async () => {
    const f = memoryFetcher({
      'http://h/s':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${...} syntax
        '#!ipxe\niseq ${platform} efi && goto efi\nisset ${nothing} || set mode bios\nkernel vmlinuz\nimgargs vmlinuz mode=${mode} ip=${ip}\nboot\n:efi\nexit\n',
      'http://h/vmlinuz': 1,
    });
    const r = await runIpxe('http://h/s', { settings, fetcher: f });
    expect(r).toMatchObject({ kind: 'boot', kernel: { args: 'mode=bios ip=10.77.0.100' } });
    const efi = await runIpxe('http://h/s', { settings: { ...settings, platform: 'efi' }, fetcher: f });
    expect(efi.kind).toBe('exit');
  });
});

describe('expansion and kernel args', () => {
  it('expands nested settings and iPXE types', () => {
    const m = new Map([
      ['netid', '1'],
      ['net1/mac', '52:54:00:00:01:01'],
      ['net0/ip', '10.0.0.5'],
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${...} syntax
    expect(expand('${net${netid}/mac:hexhyp} ${ip} [${unset}] ${net1/mac:hexraw}', m)).toBe(
      '52-54-00-00-01-01 10.0.0.5 [] 525400000101',
    );
  });
  it('parses quoted values and flags', () => {
    expect(parseKernelArgs('a=1 b "c=x y" nofb ipa-api-url=http://h:6385')).toEqual({
      a: '1',
      b: '',
      c: 'x y',
      nofb: '',
      'ipa-api-url': 'http://h:6385',
    });
  });
});
