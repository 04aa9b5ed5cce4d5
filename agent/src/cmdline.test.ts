import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/src/index.ts';
import { bootifForm, normalizeMac, parseCmdline, readParams } from './cmdline.ts';

// The deploy line Ironic 21.4's ipxe boot interface wrote (reference ironic.md §5), after iPXE
// expanded ${mac} into the BOOTIF form.
const deployLine =
  'selinux=0 troubleshoot=0 text nofb nomodeset vga=normal ipa-debug=1 ' +
  'ipa-api-url=http://127.0.0.1:6385 ipa-global-request-id=req-1c0e8d2e-5b0a-4f57-9d8b-2b1f4c6c3a11 ' +
  'BOOTIF=01-52-54-00-00-00-01 initrd=deploy_ramdisk';

// The inspection line (reference inspector.md §5): no ipa-api-url.
const inspectLine =
  'selinux=0 troubleshoot=0 text nofb nomodeset vga=normal ipa-debug=1 ' +
  'ipa-inspection-callback-url=http://192.0.2.1:5050/v1/continue ipa-global-request-id=req-x ' +
  'BOOTIF=52:54:00:00:00:02 initrd=deploy_ramdisk';

// What the line holds when iPXE did not expand its variable.
// biome-ignore lint/suspicious/noTemplateCurlyInString: an iPXE variable, not a JS template
const unexpanded = '${mac}';

describe('readParams', () => {
  it('keeps key=value words, splits on the first =, and lets a later word win', () => {
    expect(readParams('  a=1 flag b=x=y\n\ta=2 =novalue ')).toEqual({ a: '2', b: 'x=y' });
  });
});

describe('normalizeMac', () => {
  it('accepts the BOOTIF form, colon and dash MACs in any case', () => {
    expect(normalizeMac('01-52-54-00-AB-00-01')).toBe('52:54:00:ab:00:01');
    expect(normalizeMac('52:54:00:AB:00:01')).toBe('52:54:00:ab:00:01');
    expect(normalizeMac('52-54-00-ab-00-01')).toBe('52:54:00:ab:00:01');
  });
  it('rejects what is not a MAC', () => {
    expect(normalizeMac(unexpanded)).toBeUndefined();
    expect(normalizeMac('01-52-54-00')).toBeUndefined();
    expect(normalizeMac('52:54:00:00:00:0g')).toBeUndefined();
  });
  it('round-trips through the BOOTIF form', () => {
    expect(bootifForm('52:54:00:AB:00:01')).toBe('01-52-54-00-ab-00-01');
    expect(normalizeMac(bootifForm('52:54:00:ab:00:01'))).toBe('52:54:00:ab:00:01');
  });
});

describe('parseCmdline', () => {
  it('reads a deploy command line', () => {
    const p = parseCmdline(deployLine);
    expect(p.apiUrl).toBe('http://127.0.0.1:6385');
    expect(p.bootif).toBe('01-52-54-00-00-00-01');
    expect(p.bootMac).toBe('52:54:00:00:00:01');
    expect(p.globalRequestId).toBe('req-1c0e8d2e-5b0a-4f57-9d8b-2b1f4c6c3a11');
    expect(p.inspectionCallbackUrl).toBeUndefined();
    expect(p.debug).toBe(true);
    expect(p.lookupTimeoutS).toBe(300);
    expect(p.lookupIntervalS).toBe(1);
    expect(p.inspectionCollectors).toEqual(['default']);
    expect(p.raw['initrd']).toBe('deploy_ramdisk');
  });

  it('reads an inspection command line with a plain MAC', () => {
    const p = parseCmdline(inspectLine);
    expect(p.apiUrl).toBeUndefined();
    expect(p.inspectionCallbackUrl).toBe('http://192.0.2.1:5050/v1/continue');
    expect(p.bootMac).toBe('52:54:00:00:00:02');
    expect(p.bootif).toBe('52:54:00:00:00:02');
  });

  it('maps the numeric and optional IPA options', () => {
    const p = parseCmdline(
      'ipa-api-url=https://ironic.example:6385/ ipa-lookup-timeout=30 ipa-lookup-interval=2 ' +
        'ipa-listen-port=9999 ipa-advertise-host=10.0.0.5 ipa-advertise-port=19999 ' +
        'ipa-ironic-api-version=1.68 ipa-inspection-collectors=default,logs ipa-debug=0',
    );
    expect(p).toMatchObject({
      apiUrl: 'https://ironic.example:6385/',
      lookupTimeoutS: 30,
      lookupIntervalS: 2,
      listenPort: 9999,
      advertiseHost: '10.0.0.5',
      advertisePort: 19999,
      ironicApiVersion: '1.68',
      inspectionCollectors: ['default', 'logs'],
      debug: false,
    });
    expect('bootMac' in p).toBe(false);
  });

  it('treats ipa-api-url=mdns as absent (no mDNS in the lab)', () => {
    expect(parseCmdline('ipa-api-url=mdns').apiUrl).toBeUndefined();
  });

  it('names the field that is wrong', () => {
    const bad = (line: string) => {
      try {
        parseCmdline(line);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).field;
      }
      return 'no error';
    };
    expect(bad(`BOOTIF=${unexpanded}`)).toBe('BOOTIF');
    expect(bad('ipa-api-url=ftp://x')).toBe('ipa-api-url');
    expect(bad('ipa-lookup-timeout=soon')).toBe('ipa-lookup-timeout');
  });
});
