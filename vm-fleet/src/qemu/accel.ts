/**
 * Whether KVM really works for this workload. `/dev/kvm` being present is not enough: on the machines
 * this lab was measured on, a KVM guest hangs as soon as the iPXE option ROM starts executing
 * ("iPXE (PCI 00:01.0) starting execution" and nothing after), while TCG gets past it in ~0.2 s. The
 * probe therefore boots exactly that ROM under KVM and waits for iPXE's next line.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { execa } from 'execa';
import { createLogger } from '../../../common/src/index.ts';
import { qemuCommand } from './args.ts';

const log = createLogger('vm-fleet:qemu');

/** iPXE prints these once its ROM code runs; a stuck KVM guest never gets there. */
const IPXE_RUNNING = /iPXE initialising devices|Press Ctrl-B for the iPXE command line/;

export async function probeKvm(qemuBinary = 'qemu-system-x86_64', timeoutMs = 5000): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'q35,graphics=off',
    '-accel',
    'kvm',
    '-m',
    '64',
    '-serial',
    'stdio',
    '-netdev',
    'user,id=n0,restrict=on',
    '-device',
    'virtio-net-pci,netdev=n0,bootindex=1',
  ];
  const cmd = qemuCommand(qemuBinary, args);
  const child = execa(cmd.file, cmd.args, { stdin: 'ignore', reject: false, buffer: false });
  let out = '';
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('latin1');
      if (IPXE_RUNNING.test(out)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void child.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  child.kill('SIGKILL');
  await child;
  log.debug('KVM probe: %s', ok ? 'works' : 'does not get past the iPXE ROM');
  return ok;
}

const cache = new Map<string, Promise<boolean>>();

/** `probeKvm`, run once per QEMU binary per process. */
export function kvmUsable(qemuBinary = 'qemu-system-x86_64'): Promise<boolean> {
  let p = cache.get(qemuBinary);
  if (p === undefined) {
    p = probeKvm(qemuBinary);
    cache.set(qemuBinary, p);
  }
  return p;
}
