/**
 * The qemu side of a lab: real QEMU machines on user networking, the guest protocol on the lab's
 * HTTP boot server, and the wiring from a ramdisk's first phone-home to a host-side agent that
 * drives the in-guest relay (agent/src/relay-host.ts).
 *
 *   QEMU's DHCP (slirp) hands out `http://10.0.2.2:<boot port>/boot.ipxe`; iPXE fetches it and
 *   follows what the provisioning system wrote into the boot root (kernel, ramdisk, kernel line)
 *      └─ the ramdisk phones home to that same server (the boot file URL's origin) with its own
 *         measurements and /proc/cmdline ──▶ a RelayHost + Agent for this node, on the host
 *      └─ the relay polls `/relay` for commands and fetches images from `/relay-image/<token>`
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type GuestReport, parseGuestReport, type RelayHost } from '../../agent/src/index.ts';
import { createLogger } from '../../common/src/index.ts';
import { buildBootHttpApp } from '../../network-boot/src/index.ts';
import {
  DEFAULT_IMAGES_DIR,
  defaultMachineSpec,
  ensureImages,
  GUEST_PROTOCOL,
  type GuestImages,
  kvmUsable,
  type MachineSpec,
  QemuMachine,
} from '../../vm-fleet/src/index.ts';
import { BridgeNetwork } from '../../vm-fleet/src/qemu/index.ts';
import type { BridgeServicesConfig } from './bridge-services.ts';

const log = createLogger('lab:qemu');

/** The host as a guest on QEMU user networking sees it (slirp's gateway forwards to 127.0.0.1). */
export const USER_NET_HOST = '10.0.2.2';

export const RELAY_IMAGE_PATH = '/relay-image';

/**
 * `[pxe]kernel_append_params` for machines whose console is a serial port, as a lab of servers with
 * serial consoles configures it: Ironic's default plus `console=ttyS0`, and `no_timer_check` because a
 * vCPU starved under TCG can fail the kernel's IO-APIC timer check (shared/reference/qemu-netboot.md §6).
 */
export const QEMU_KERNEL_APPEND = 'nofb nomodeset vga=normal console=ttyS0 no_timer_check';

/**
 * A qemu node's hardware where lab.yaml says nothing: one vCPU and 512 MiB, because QEMU emulates in
 * software here (TCG) and every vCPU costs a host core; a 4 GiB disk (a sparse qcow2).
 */
export function qemuDefaultSpec(index: number, name?: string): MachineSpec {
  const s = defaultMachineSpec(index, name);
  return { ...s, cpus: 1, memoryMiB: 512, disks: s.disks.map((d) => ({ ...d, sizeBytes: 4 * 1024 ** 3 })) };
}

/** What the relay reported with `event=up`, per MAC, and the host-side RelayHost that serves it. */
export class GuestRelays {
  readonly #hosts = new Map<string, RelayHost>();
  /** Called for an agent ramdisk's first phone-home: the lab starts this node's agent. */
  onAgentUp: ((mac: string, report: GuestReport) => void) | undefined;
  /** Called for every phone-home (the trace records them). */
  onPhoneHome: ((mac: string, query: Readonly<Record<string, string>>) => void) | undefined;

  bind(mac: string, host: RelayHost): void {
    this.#hosts.set(mac.toLowerCase(), host);
  }

  unbind(mac: string, host: RelayHost): void {
    if (this.#hosts.get(mac.toLowerCase()) === host) this.#hosts.delete(mac.toLowerCase());
  }

  phoneHome(query: Readonly<Record<string, string>>, body: string): void {
    const mac = (query['mac'] ?? '').toLowerCase();
    this.onPhoneHome?.(mac, query);
    if (query['event'] === 'up' && query['role'] === 'agent') {
      this.onAgentUp?.(mac, parseGuestReport(body));
      return;
    }
    this.#hosts.get(mac)?.phoneHome(query);
  }

  nextCommand(mac: string): string | undefined {
    return this.#hosts.get(mac.toLowerCase())?.nextCommand();
  }

  openImage(token: string): AsyncIterable<Uint8Array> | undefined {
    for (const h of this.#hosts.values()) {
      const s = h.openImage(token);
      if (s !== undefined) return s;
    }
    return undefined;
  }
}

/**
 * The lab's HTTP boot root (network-boot) plus the guest protocol routes, on one port: the guest
 * finds the lab at the origin of the boot file URL DHCP gave it, so both must be the same server.
 */
export async function startLabBootHttp(
  root: string,
  guests: GuestRelays,
  listen: { host?: string; port?: number },
): Promise<{ url: string; close: () => Promise<void> }> {
  const app = buildBootHttpApp({ root });
  // busybox wget --post-file sends application/x-www-form-urlencoded; the body is plain lines.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.route<{ Querystring: Record<string, string>; Body: string | undefined }>({
    method: ['GET', 'POST'],
    url: GUEST_PROTOCOL.phoneHome,
    handler: async (req) => {
      guests.phoneHome(req.query, typeof req.body === 'string' ? req.body : '');
      return 'ok\n';
    },
  });
  app.get<{ Querystring: Record<string, string> }>(GUEST_PROTOCOL.relay, async (req, reply) => {
    const cmd = guests.nextCommand(req.query['mac'] ?? '');
    if (cmd === undefined) return reply.code(204).send();
    return reply.type('text/plain').send(`${cmd}\n`);
  });
  app.get<{ Params: { token: string } }>(`${RELAY_IMAGE_PATH}/:token`, async (req, reply) => {
    const stream = guests.openImage(req.params.token);
    if (stream === undefined) return reply.code(404).send();
    return reply.type('application/octet-stream').send(Readable.from(stream));
  });
  const host = listen.host ?? '127.0.0.1';
  await app.listen({ host, port: listen.port ?? 0 });
  const a = app.server.address();
  const port = typeof a === 'object' && a !== null ? a.port : (listen.port ?? 0);
  return { url: `http://${host}:${port}`, close: () => app.close() };
}

/** The qemu guest images (built once, cached), and the KVM probe done before any `power on`. */
export async function prepareQemu(imagesDir?: string): Promise<GuestImages> {
  const images = await ensureImages(resolve(imagesDir ?? process.env['BMLAB_IMAGES'] ?? DEFAULT_IMAGES_DIR));
  await kvmUsable();
  return images;
}

/** Puts the real agent kernel, ramdisk and deploy image where the lab's images are served from. */
export async function publishQemuImages(
  images: GuestImages,
  dir: string,
): Promise<{ kernel: string; ramdisk: string; image: Buffer }> {
  await mkdir(dir, { recursive: true });
  const kernel = join(dir, 'deploy_kernel');
  const ramdisk = join(dir, 'deploy_ramdisk');
  await writeFile(kernel, await readFile(images.kernel));
  await writeFile(ramdisk, await readFile(images.agentInitrd));
  return { kernel, ramdisk, image: await readFile(images.deployImage) };
}

/** `bootUrl` is handed out by QEMU's DHCP (user networking); on a bridge the lab's DHCP does that. */
export function createQemuMachine(
  spec: MachineSpec,
  stateDir: string,
  net: { readonly bootUrl: string } | { readonly tap: string; readonly namespace: string },
): QemuMachine {
  return new QemuMachine({
    spec,
    dir: join(stateDir, 'qemu', spec.name),
    ...('tap' in net
      ? { network: { mode: 'tap', ifname: net.tap }, netns: net.namespace }
      : { network: { mode: 'user', bootFile: net.bootUrl } }),
    accel: 'auto',
  });
}

/** The lab's HTTP port on the bridge segment (its own namespace: no clash with the host's ports). */
const BRIDGE_HTTP_PORT = 8080;

export interface LabBridge {
  readonly namespace: string;
  /** The lab's boot server as the VMs on the segment reach it. */
  readonly guestUrl: string;
  tap(i: number): string;
  close(): Promise<void>;
}

/**
 * Bridge networking (root): a namespace with a Linux bridge and one tap per qemu node, and the lab's
 * DHCP, RA and HTTP on the segment (bridge-services.ts, run inside the namespace); the segment's HTTP
 * port is relayed to `httpUrl`, the lab's boot server on loopback. Nothing outside the namespace
 * changes: the host's interfaces and routes stay as they are.
 */
export async function startLabBridge(httpUrl: string, taps: number): Promise<LabBridge> {
  const net = await BridgeNetwork.create({ namespace: `bmlab-${process.pid}` });
  const sockDir = await mkdtemp(join(tmpdir(), 'bmlab-bridge-'));
  const socket = join(sockDir, 'http.sock');
  const port = Number(new URL(httpUrl).port);
  const relay = createServer((c) => {
    const up = createConnection(port, '127.0.0.1');
    c.pipe(up).pipe(c);
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', end);
    up.on('error', end);
  });
  const SPAWN = { reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false } as const;
  let child: ReturnType<typeof execa<typeof SPAWN>> | undefined;
  const close = async () => {
    child?.kill('SIGTERM');
    await child?.catch(() => {});
    relay.close();
    await net.destroy();
    await rm(sockDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < taps; i++) await net.addTap(`tap${i}`);
    await new Promise<void>((res, rej) => {
      relay.once('error', rej);
      relay.listen(socket, res);
    });
    const cfg: BridgeServicesConfig = {
      address: net.gateway,
      netmask: '255.255.255.0',
      broadcast: net.gateway.replace(/\.\d+$/, '.255'),
      range: [net.gateway.replace(/\.\d+$/, '.10'), net.gateway.replace(/\.\d+$/, '.250')],
      bridge: net.bridge,
      httpPort: BRIDGE_HTTP_PORT,
      socket,
    };
    const script = fileURLToPath(new URL('./bridge-services.ts', import.meta.url));
    const [file = 'ip', ...prefix] = net.exec();
    const c = execa(
      file,
      [
        ...prefix,
        ...['setpriv', '--pdeathsig', 'KILL', '--', process.execPath],
        ...['--import', import.meta.resolve('tsx'), script, JSON.stringify(cfg)],
      ],
      SPAWN,
    );
    child = c;
    let stderr = '';
    c.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`bridge services not ready in 30 s: ${stderr}`)), 30_000);
      c.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) {
          clearTimeout(t);
          res();
        }
      });
      void c.then(() => {
        clearTimeout(t);
        rej(new Error(`bridge services exited: ${stderr.trim()}`));
      });
    });
    log.debug('bridge %s in namespace %s: %d taps', net.bridge, net.namespace, taps);
    return {
      namespace: net.namespace,
      guestUrl: `http://${net.gateway}:${BRIDGE_HTTP_PORT}`,
      tap: (i) => `tap${i}`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
