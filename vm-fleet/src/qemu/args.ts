/**
 * The QEMU command line, built purely from a spec (qemu python `machine.py _base_args`): no files are
 * touched, no probes run, so a test can assert the exact argument vector.
 *
 * Choices measured on this kind of host (shared/reference/qemu-netboot.md):
 * - `graphics=off` makes SeaBIOS and the iPXE ROM print on the serial port (sercon); without it the
 *   PXE phase is invisible on the console.
 * - NICs are virtio-net: the Debian cloud kernel does not build e1000. The NIC's option ROM is QEMU's
 *   default `efi-virtio.rom`, which Debian's ipxe-qemu installs in QEMU's firmware path
 *   (`qemu-system-x86_64 -L help`). It is deliberately not passed as `romfile=`: QEMU patches the PCI
 *   device id only into a default ROM, and on q35 an explicit, unpatched ROM is rejected by SeaBIOS
 *   (the machine then never PXE-boots).
 * - QMP and the serial console are unix sockets on which the lab listens *before* QEMU starts; QEMU
 *   connects as a client at startup, so no greeting and no early console byte is ever missed.
 * - `-accel tcg,tb-size=32`: TCG's code buffer is 1 GiB by default, and booting the agent ramdisk
 *   translates about 53 MB of guest code (`info jit`), all of it resident. 16 MiB saves RSS but flushes
 *   and retranslates three times per boot: 0.4-0.7 s more CPU per boot (about 20 %, which is what
 *   limits how many VMs boot at once on 2 cores). 32 MiB flushes once and costs no measurable CPU.
 * - Guest RAM is a memfd (shmem) rather than anonymous memory: QEMU madvises anonymous guest RAM for
 *   transparent hugepages, so every 4 KiB the guest touches costs 2 MiB of host RSS; Debian's
 *   shmem_enabled=never keeps a memfd in 4 KiB pages. About 10 MB less RSS per VM, same CPU.
 */
import { diskId, nicId } from './boot-order.ts';

export type QemuAccel = { readonly kind: 'kvm' } | { readonly kind: 'tcg'; readonly tbSizeMiB: number };

export type QemuNetwork =
  /** Rootless user networking (slirp): the lab is reached as 10.0.2.2; `bootFile` is handed out in DHCP. */
  | { readonly mode: 'user'; readonly bootFile?: string; readonly tftpRoot?: string }
  /** A tap prepared by the lab (root) in its network namespace. */
  | { readonly mode: 'tap'; readonly ifname: string };

export interface QemuNicSpec {
  readonly mac: string;
  readonly network: QemuNetwork;
  readonly bootindex?: number;
  /**
   * User networking only: a unix socket on which the lab listens. The NIC then sits on a QEMU hub with
   * slirp and a stream netdev to that socket, through which the lab adds iPXE's no-proxyDHCP option to
   * slirp's offer (no-proxy-dhcp.ts).
   */
  readonly dhcpSocket?: string;
}

export interface QemuDiskSpec {
  readonly file: string;
  readonly format: 'qcow2' | 'raw';
  /** The serial number the guest reads (/sys/block/vdX/serial); virtio-blk keeps 20 bytes. */
  readonly serial?: string;
  readonly bootindex?: number;
}

export type QemuFirmware =
  | { readonly mode: 'bios' }
  /** OVMF: read-only code plus this machine's own copy of the variable store. */
  | { readonly mode: 'uefi'; readonly code: string; readonly vars: string };

export interface QemuSpec {
  readonly name: string;
  readonly machine: 'q35' | 'pc';
  readonly accel: QemuAccel;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly firmware: QemuFirmware;
  readonly qmpSocket: string;
  readonly serialSocket: string;
  readonly serialLog: string;
  readonly nics: readonly QemuNicSpec[];
  readonly disks: readonly QemuDiskSpec[];
  /** Keep the process after a guest poweroff (status `shutdown`) instead of exiting. */
  readonly noShutdown: boolean;
}

/** QEMU's option syntax ends a value at ',' and reads ',,' as a literal comma. */
export function optValue(v: string): string {
  return v.replaceAll(',', ',,');
}

function netdevArgs(id: string, net: QemuNetwork): string {
  if (net.mode === 'tap') return `tap,id=${id},ifname=${optValue(net.ifname)},script=no,downscript=no`;
  let s = `user,id=${id}`;
  if (net.tftpRoot !== undefined) s += `,tftp=${optValue(net.tftpRoot)}`;
  if (net.bootFile !== undefined) s += `,bootfile=${optValue(net.bootFile)}`;
  return s;
}

export function buildQemuArgs(spec: QemuSpec): string[] {
  const args = ['-name', optValue(spec.name), '-nodefaults', '-no-user-config', '-display', 'none'];
  args.push('-object', `memory-backend-memfd,id=ram0,size=${spec.memoryMiB}M`);
  args.push('-machine', `${spec.machine},graphics=off,memory-backend=ram0`);
  args.push('-accel', spec.accel.kind === 'kvm' ? 'kvm' : `tcg,tb-size=${spec.accel.tbSizeMiB}`);
  if (spec.accel.kind === 'kvm') args.push('-cpu', 'host');
  args.push('-m', String(spec.memoryMiB), '-smp', String(spec.cpus));
  if (spec.firmware.mode === 'uefi') {
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${optValue(spec.firmware.code)}`);
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${optValue(spec.firmware.vars)}`);
  }
  args.push('-chardev', `socket,id=qmp,path=${optValue(spec.qmpSocket)}`, '-mon', 'chardev=qmp,mode=control');
  args.push(
    '-chardev',
    `socket,id=serial0,path=${optValue(spec.serialSocket)},logfile=${optValue(spec.serialLog)},logappend=on`,
    '-serial',
    'chardev:serial0',
  );
  spec.nics.forEach((nic, i) => {
    if (nic.network.mode === 'user' && nic.dhcpSocket !== undefined) {
      // Hub i joins slirp, the lab's stream socket and the NIC's own port `net${i}`.
      args.push('-netdev', netdevArgs(`net${i}u`, nic.network));
      args.push('-netdev', `hubport,id=net${i}hu,hubid=${i},netdev=net${i}u`);
      args.push(
        '-netdev',
        `stream,id=net${i}s,server=off,addr.type=unix,addr.path=${optValue(nic.dhcpSocket)}`,
      );
      args.push('-netdev', `hubport,id=net${i}hs,hubid=${i},netdev=net${i}s`);
      args.push('-netdev', `hubport,id=net${i},hubid=${i}`);
    } else {
      args.push('-netdev', netdevArgs(`net${i}`, nic.network));
    }
    let dev = `virtio-net-pci,id=${nicId(i)},netdev=net${i},mac=${nic.mac}`;
    if (nic.bootindex !== undefined) dev += `,bootindex=${nic.bootindex}`;
    args.push('-device', dev);
  });
  spec.disks.forEach((disk, i) => {
    // cache=unsafe: a lab disk needs no durability across host crashes, and flushes cost TCG time.
    args.push(
      '-drive',
      `file=${optValue(disk.file)},if=none,id=drive${i},format=${disk.format},cache=unsafe`,
    );
    let dev = `virtio-blk-pci,id=${diskId(i)},drive=drive${i}`;
    if (disk.serial !== undefined) dev += `,serial=${optValue(disk.serial.slice(0, 20))}`;
    if (disk.bootindex !== undefined) dev += `,bootindex=${disk.bootindex}`;
    args.push('-device', dev);
  });
  if (spec.noShutdown) args.push('-no-shutdown');
  return args;
}

/**
 * The process to exec: QEMU under `setpriv --pdeathsig KILL` (util-linux), which sets PR_SET_PDEATHSIG
 * and execs, so QEMU is killed when the Node process that spawned it dies; without it QEMU outlives a
 * crashed lab. In bridge mode QEMU must open its tap inside the lab's namespace, so `ip netns exec`
 * (which only enters the namespace and execs; the death signal survives exec) comes in between.
 */
export function qemuCommand(
  qemuBinary: string,
  args: readonly string[],
  netns?: string,
): { file: string; args: string[] } {
  const inNs = netns === undefined ? [] : ['ip', 'netns', 'exec', netns];
  return { file: 'setpriv', args: ['--pdeathsig', 'KILL', '--', ...inNs, qemuBinary, ...args] };
}
