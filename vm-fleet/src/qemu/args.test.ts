import { describe, expect, it } from 'vitest';
import { NO_OVERRIDE } from '../machine.ts';
import { buildQemuArgs, optValue, type QemuSpec, qemuCommand } from './args.ts';
import { bootIndexes, bootIndexUpdates, effectiveBootOrder } from './boot-order.ts';

const base: QemuSpec = {
  name: 'node-0',
  machine: 'q35',
  accel: { kind: 'tcg', tbSizeMiB: 32 },
  cpus: 1,
  memoryMiB: 256,
  firmware: { mode: 'bios' },
  qmpSocket: '/run/lab/node-0/qmp.sock',
  serialSocket: '/run/lab/node-0/serial.sock',
  serialLog: '/run/lab/node-0/serial.log',
  nics: [
    {
      mac: '52:54:00:00:00:00',
      network: { mode: 'user', bootFile: 'http://10.0.2.2:8080/boot.ipxe?mac=52:54:00:00:00:00' },
      bootindex: 1,
    },
  ],
  disks: [{ file: '/run/lab/node-0/disk0.qcow2', format: 'qcow2', bootindex: 2 }],
  noShutdown: false,
};

describe('buildQemuArgs', () => {
  it('builds the PXE-first TCG machine on user networking', () => {
    expect(buildQemuArgs(base)).toEqual([
      '-name',
      'node-0',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-object',
      'memory-backend-memfd,id=ram0,size=256M',
      '-machine',
      'q35,graphics=off,memory-backend=ram0',
      '-accel',
      'tcg,tb-size=32',
      '-m',
      '256',
      '-smp',
      '1',
      '-chardev',
      'socket,id=qmp,path=/run/lab/node-0/qmp.sock',
      '-mon',
      'chardev=qmp,mode=control',
      '-chardev',
      'socket,id=serial0,path=/run/lab/node-0/serial.sock,logfile=/run/lab/node-0/serial.log,logappend=on',
      '-serial',
      'chardev:serial0',
      '-netdev',
      'user,id=net0,bootfile=http://10.0.2.2:8080/boot.ipxe?mac=52:54:00:00:00:00',
      '-device',
      'virtio-net-pci,id=nic0,netdev=net0,mac=52:54:00:00:00:00,bootindex=1',
      '-drive',
      'file=/run/lab/node-0/disk0.qcow2,if=none,id=drive0,format=qcow2,cache=unsafe',
      '-device',
      'virtio-blk-pci,id=disk0,drive=drive0,bootindex=2',
    ]);
  });

  it("puts a user-networking NIC on a hub with slirp and the lab's DHCP socket when asked", () => {
    const [nic] = base.nics;
    if (nic === undefined) throw new Error('no nic');
    const args = buildQemuArgs({ ...base, nics: [{ ...nic, dhcpSocket: '/run/lab/node-0/dhcp0.sock' }] });
    const from = args.indexOf('-netdev');
    expect(args.slice(from, from + 12)).toEqual([
      '-netdev',
      'user,id=net0u,bootfile=http://10.0.2.2:8080/boot.ipxe?mac=52:54:00:00:00:00',
      '-netdev',
      'hubport,id=net0hu,hubid=0,netdev=net0u',
      '-netdev',
      'stream,id=net0s,server=off,addr.type=unix,addr.path=/run/lab/node-0/dhcp0.sock',
      '-netdev',
      'hubport,id=net0hs,hubid=0,netdev=net0s',
      '-netdev',
      'hubport,id=net0,hubid=0',
      '-device',
      'virtio-net-pci,id=nic0,netdev=net0,mac=52:54:00:00:00:00,bootindex=1',
    ]);
  });

  it('uses KVM with the host CPU, UEFI pflash, a tap and -no-shutdown when asked', () => {
    const args = buildQemuArgs({
      ...base,
      machine: 'pc',
      accel: { kind: 'kvm' },
      firmware: { mode: 'uefi', code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/lab/n0/OVMF_VARS.fd' },
      nics: [{ mac: '52:54:00:00:01:00', network: { mode: 'tap', ifname: 'bmtap1' } }],
      disks: [],
      noShutdown: true,
    });
    expect(args).toEqual([
      '-name',
      'node-0',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-object',
      'memory-backend-memfd,id=ram0,size=256M',
      '-machine',
      'pc,graphics=off,memory-backend=ram0',
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-smp',
      '1',
      '-drive',
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      '-drive',
      'if=pflash,format=raw,unit=1,file=/lab/n0/OVMF_VARS.fd',
      '-chardev',
      'socket,id=qmp,path=/run/lab/node-0/qmp.sock',
      '-mon',
      'chardev=qmp,mode=control',
      '-chardev',
      'socket,id=serial0,path=/run/lab/node-0/serial.sock,logfile=/run/lab/node-0/serial.log,logappend=on',
      '-serial',
      'chardev:serial0',
      '-netdev',
      'tap,id=net0,ifname=bmtap1,script=no,downscript=no',
      '-device',
      'virtio-net-pci,id=nic0,netdev=net0,mac=52:54:00:00:01:00',
      '-no-shutdown',
    ]);
  });

  it('escapes commas in paths and boot file URLs the way QEMU option syntax reads them', () => {
    expect(optValue('/tmp/a,b')).toBe('/tmp/a,,b');
    const args = buildQemuArgs({
      ...base,
      nics: [
        {
          mac: '52:54:00:00:00:00',
          network: { mode: 'user', tftpRoot: '/srv/t,ftp', bootFile: 'boot.ipxe' },
        },
      ],
      disks: [{ file: '/d,isk.raw', format: 'raw' }],
    });
    expect(args).toContain('user,id=net0,tftp=/srv/t,,ftp,bootfile=boot.ipxe');
    expect(args).toContain('file=/d,,isk.raw,if=none,id=drive0,format=raw,cache=unsafe');
    expect(args).toContain('virtio-blk-pci,id=disk0,drive=drive0');
  });

  it('wraps QEMU in setpriv so it dies with its parent', () => {
    expect(qemuCommand('qemu-system-x86_64', ['-name', 'x'])).toEqual({
      file: 'setpriv',
      args: ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', '-name', 'x'],
    });
    expect(qemuCommand('qemu-system-x86_64', ['-S'], 'bmlab').args).toEqual([
      '--pdeathsig',
      'KILL',
      '--',
      'ip',
      'netns',
      'exec',
      'bmlab',
      'qemu-system-x86_64',
      '-S',
    ]);
  });
});

describe('boot order', () => {
  it('puts an override first and keeps the rest of the machine order', () => {
    expect(effectiveBootOrder(['disk', 'pxe'], NO_OVERRIDE)).toEqual(['disk', 'pxe']);
    expect(effectiveBootOrder(['disk', 'pxe'], { device: 'pxe', persistent: false, mode: 'bios' })).toEqual([
      'pxe',
      'disk',
    ]);
    expect(effectiveBootOrder(['pxe'], { device: 'cdrom', persistent: true, mode: 'bios' })).toEqual([
      'cdrom',
      'pxe',
    ]);
  });

  it('numbers every NIC for pxe and every disk for disk, skipping devices the machine lacks', () => {
    expect([...bootIndexes(['cdrom', 'pxe', 'disk'], 2, 1)]).toEqual([
      ['nic0', 1],
      ['nic1', 2],
      ['disk0', 3],
    ]);
    expect([...bootIndexes(['disk'], 1, 1)]).toEqual([['disk0', 1]]);
  });

  it('clears every changed device before giving it its new index (QEMU rejects a used bootindex)', () => {
    const pxeFirst = bootIndexes(['pxe', 'disk'], 1, 1);
    const diskFirst = bootIndexes(['disk', 'pxe'], 1, 1);
    expect(bootIndexUpdates(pxeFirst, diskFirst)).toEqual([
      { id: 'disk0', bootindex: -1 },
      { id: 'nic0', bootindex: -1 },
      { id: 'disk0', bootindex: 1 },
      { id: 'nic0', bootindex: 2 },
    ]);
    expect(bootIndexUpdates(pxeFirst, pxeFirst)).toEqual([]);
    expect(bootIndexUpdates(pxeFirst, bootIndexes(['pxe'], 1, 1))).toEqual([{ id: 'disk0', bootindex: -1 }]);
  });
});
