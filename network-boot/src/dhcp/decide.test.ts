import { describe, expect, it } from 'vitest';
import { classifyClient, type DhcpClientRequest, decideBoot, type PxePolicy } from './decide.ts';
import { LeasePool } from './leases.ts';
import { IPXE_NO_PXEDHCP, normalizeMac, parseEncapsulated } from './options.ts';

const policy: PxePolicy = {
  nextServer: '10.77.0.1',
  scriptUrl: 'http://10.77.0.1:8080/boot.ipxe',
  overrides: {
    '52-54-00-00-00-09': { ignore: true },
    '52:54:00:00:00:0a': { script: 'http://10.77.0.1:8080/static/0a.ipxe', bootFile: 'custom.kpxe' },
  },
};

const MAC = '52:54:00:00:00:01';
const pxeRom: DhcpClientRequest = {
  mac: MAC,
  vendorClassId: 'PXEClient:Arch:00000:UNDI:002001',
  clientArch: 0,
};
const pxeRomUefi: DhcpClientRequest = {
  mac: MAC,
  vendorClassId: 'PXEClient:Arch:00007:UNDI:003010',
  clientArch: 7,
};
const ipxe: DhcpClientRequest = { ...pxeRom, userClass: 'iPXE', ipxeEncap: [19, 1, 1] };
const ipxeNoUserClass: DhcpClientRequest = { ...pxeRom, ipxeEncap: [19, 1, 1] };
const udhcpc: DhcpClientRequest = { mac: MAC, vendorClassId: 'udhcp 1.35.0' };

describe('decideBoot', () => {
  // [name, request, expected fields]
  const rows: [string, DhcpClientRequest, Record<string, unknown>][] = [
    [
      'PXE ROM (BIOS) chainloads iPXE over TFTP',
      pxeRom,
      { client: 'pxe', bootFile: 'undionly.kpxe', nextServer: '10.77.0.1', vendorClassId: 'PXEClient' },
    ],
    [
      'PXE ROM (UEFI x64) gets the EFI build',
      pxeRomUefi,
      { client: 'pxe', bootFile: 'snponly.efi', firmware: 'uefi' },
    ],
    [
      'iPXE (user class) gets the script URL and no-pxedhcp',
      ipxe,
      { client: 'ipxe', bootFile: policy.scriptUrl, ipxeEncap: IPXE_NO_PXEDHCP },
    ],
    ['iPXE recognised by option 175 alone', ipxeNoUserClass, { client: 'ipxe', bootFile: policy.scriptUrl }],
    [
      'a plain DHCP client gets an address only',
      udhcpc,
      { client: 'other', bootFile: undefined, ipxeEncap: undefined },
    ],
    [
      'per-MAC script override for iPXE',
      { ...ipxe, mac: '52:54:00:00:00:0a' },
      { bootFile: 'http://10.77.0.1:8080/static/0a.ipxe' },
    ],
    [
      'per-MAC boot file override for the PXE ROM',
      { ...pxeRom, mac: '52:54:00:00:00:0A' },
      { bootFile: 'custom.kpxe' },
    ],
  ];
  it.each(rows)('%s', (_name, req, expected) => {
    const d = decideBoot(req, policy);
    expect(d.kind).toBe('answer');
    expect(d).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)));
    for (const [k, v] of Object.entries(expected)) if (v === undefined) expect(d).not.toHaveProperty(k);
  });

  it('ignores a MAC overridden with ignore, whatever the client', () => {
    for (const r of [pxeRom, ipxe, udhcpc]) {
      expect(decideBoot({ ...r, mac: '52:54:00:00:00:09' }, policy)).toEqual({
        kind: 'ignore',
        reason: 'override: ignore',
      });
    }
  });

  it('ignores MACs the known() filter rejects', () => {
    const only = { ...policy, known: (m: string) => m === MAC };
    expect(decideBoot(ipxe, only).kind).toBe('answer');
    expect(decideBoot({ ...ipxe, mac: '52:54:00:00:00:02' }, only)).toMatchObject({
      kind: 'ignore',
      reason: 'unknown MAC',
    });
  });

  it('tells the NIC ROM apart from iPXE', () => {
    expect([pxeRom, ipxe, ipxeNoUserClass, udhcpc].map(classifyClient)).toEqual([
      'pxe',
      'ipxe',
      'ipxe',
      'other',
    ]);
  });
});

describe('options helpers', () => {
  it('splits option 175 triples and stops at a truncated tail', () => {
    const m = parseEncapsulated([16, 1, 2, 19, 1, 1, 177, 5, 1, 0x1a, 0xf4, 0x10, 0, 21, 4, 1]);
    expect([...m.keys()]).toEqual([16, 19, 177]);
    expect(m.get(177)).toEqual([1, 0x1a, 0xf4, 0x10, 0]);
  });
  it('normalises MAC spellings', () => {
    expect(normalizeMac('52-54-00-AB-00-0F')).toBe('52:54:00:ab:00:0f');
    expect(normalizeMac('525400ab000f')).toBe('52:54:00:ab:00:0f');
  });
});

describe('LeasePool', () => {
  it('hands out static bindings, then the lowest free address, stable per MAC', () => {
    const pool = new LeasePool({
      range: ['10.77.0.10', '10.77.0.12'],
      static: { '52:54:00:00:00:05': '10.77.0.11' },
      reserved: ['10.77.0.10'],
    });
    expect(pool.addressFor('52-54-00-00-00-05')).toBe('10.77.0.11');
    expect(pool.addressFor(MAC)).toBe('10.77.0.12');
    expect(pool.addressFor(MAC)).toBe('10.77.0.12');
    expect(pool.addressFor('52:54:00:00:00:02')).toBeUndefined();
  });
  it('rejects a bad range with a ConfigError naming the field', () => {
    expect(() => new LeasePool({ range: ['10.0.0.300', '10.0.0.1'] })).toThrow(/range\[0\]/);
  });
});
