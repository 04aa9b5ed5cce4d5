import { describe, expect, it } from 'vitest';
import { parseLabConfig } from './config.ts';

describe('lab.yaml', () => {
  it('defaults: one node, VirtualBMC-style ports, mock Ironic', () => {
    const c = parseLabConfig('{}');
    expect(c.nodes.map((n) => n.name)).toEqual(['node-0']);
    expect([c.bmc.basePort, c.httpPort, c.ironicPort, c.apiPort, c.ironic]).toEqual([
      6230,
      8088,
      6385,
      6380,
      'mock',
    ]);
  });

  it('a node list with hardware and vendors', () => {
    const c = parseLabConfig(`
nodes:
  - name: db-1
    cpus: 16
    memoryMiB: 65536
    disks: [{ name: sda, sizeGiB: 500 }, { name: sdb, sizeGiB: 500 }]
    vendor: hpe
  - {}
bmc: { vendor: lenovo }
`);
    expect(c.nodes[0]).toMatchObject({ name: 'db-1', cpus: 16, memoryMiB: 65536, vendor: 'hpe' });
    expect(c.nodes[0]?.disks.map((d) => [d.name, d.sizeBytes / 1024 ** 3])).toEqual([
      ['sda', 500],
      ['sdb', 500],
    ]);
    expect(c.nodes[1]).toMatchObject({
      name: 'node-1',
      vendor: 'lenovo',
      nics: [{ mac: '52:54:00:00:01:00' }],
    });
  });

  it('qemu nodes: the lab backend or per node, TCG-sized unless the node says; user networking by default', () => {
    const c = parseLabConfig(`
backend: qemu
nodes:
  - name: vm-a
  - name: vm-b
    cpus: 2
    memoryMiB: 1024
  - name: sim-c
    backend: sim
`);
    expect(c.backend).toBe('qemu');
    expect(c.network).toEqual({ mode: 'user' });
    expect(c.nodes.map((n) => [n.name, n.backend, n.cpus, n.memoryMiB, n.disks[0]?.sizeBytes])).toEqual([
      ['vm-a', 'qemu', 1, 512, 4 * 1024 ** 3],
      ['vm-b', 'qemu', 2, 1024, 4 * 1024 ** 3],
      ['sim-c', 'sim', 2, 4096, 20 * 1024 ** 3],
    ]);
    expect(parseLabConfig('backend: qemu\nnodes: 2').nodes.map((n) => n.backend)).toEqual(['qemu', 'qemu']);
  });

  it('bridge networking needs root, and says so', () => {
    expect(parseLabConfig('network: { mode: bridge }', 'lab.yaml', true).network).toEqual({ mode: 'bridge' });
    expect(() => parseLabConfig('network: { mode: bridge }', 'lab.yaml', false)).toThrow(
      /^network\.mode: bridge needs root/,
    );
  });

  it.each([
    ['nodes: many', /^nodes: must be a number or a list/],
    ['nodes: 0', /^nodes: must be a whole number from 1/],
    ['nodes: [{ cpus: two }]', /^nodes\[0\]\.cpus: must be a whole number/],
    ['nodes: [{ memoryMiB: 1 }]', /^nodes\[0\]\.memoryMiB: must be a whole number from 64/],
    ['nodes: [{ disks: [{ sizeGiB: -1 }] }]', /^nodes\[0\]\.disks\[0\]\.sizeGiB:/],
    ['nodes: [{ name: a }, { name: a }]', /^nodes\[1\]\.name: 'a' is used twice/],
    ['nodes: [{ vendor: acme }]', /^nodes\[0\]\.vendor: unknown vendor 'acme'/],
    ['nodes: [{ colour: red }]', /^nodes\[0\]\.colour: unknown field/],
    ['bmc: { basePort: 70000 }', /^bmc\.basePort: must be a whole number from 0 to/],
    ['timeScale: 0', /^timeScale: must be a number above 0/],
    ['ironic: real', /^ironic: must be 'mock' or 'none'/],
    ['backend: xen', /^backend: must be 'sim' or 'qemu', not 'xen'/],
    ['nodes: [{ backend: kvm }]', /^nodes\[0\]\.backend: must be 'sim' or 'qemu'/],
    ['network: { mode: nat }', /^network\.mode: must be 'user' or 'bridge', not 'nat'/],
    ['network: { mode: user, bridge: br0 }', /^network\.bridge: unknown field/],
    ['api: 6380', /^api: must be a mapping/],
    ['nodes: [1, 2', /^lab\.yaml: is not valid YAML/],
  ])('%s → a clear error naming the field', (text, message) => {
    expect(() => parseLabConfig(text)).toThrow(message);
  });
});
