/**
 * The lab runtime: the one place where components are wired together (DESIGN.md). A lab is a sim
 * fleet, one virtual BMC per machine, the network-boot services, an emulated agent started each
 * time a machine boots the agent ramdisk, and optionally a mock Ironic — all in this process.
 *
 *   machine PXE-boots ──▶ DHCP decision ──▶ boot script from the HTTP boot root (written by Ironic)
 *        └─ ramdisk "boots" ──▶ Agent(kernel args) looks up + heartbeats to ipa-api-url
 *   machine powers off or reboots ──▶ that agent stops (a new boot is a new agent, new token)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentFaults, AgentHost } from '../../agent/src/index.ts';
import { Agent, type GuestReport, RelayHost } from '../../agent/src/index.ts';
import {
  Bmc,
  BmcEndpoint,
  createBmcState,
  RedfishServer,
  redfishOptionsFromBmc,
} from '../../bmc-emulator/src/index.ts';
import { ConfigError, createLogger } from '../../common/src/index.ts';
import { MockIronic } from '../../mock-ironic/src/index.ts';
import { directoryFetcher, LeasePool, startBootHttp } from '../../network-boot/src/index.ts';
import {
  createSimBootNetwork,
  defaultMachineSpec,
  type MachineSpec,
  type QemuMachine,
  type RamdiskBoot,
  SimFleet,
  type SimMachine,
} from '../../vm-fleet/src/index.ts';
import { buildLabApi } from './api.ts';
import {
  createQemuMachine,
  GuestRelays,
  prepareQemu,
  publishQemuImages,
  QEMU_KERNEL_APPEND,
  qemuDefaultSpec,
  RELAY_IMAGE_PATH,
  startLabBootHttp,
  startLabBridge,
  USER_NET_HOST,
} from './qemu-nodes.ts';
import { provisioningToLocal } from './real-ironic/index.ts';
import { SimHost } from './sim-host.ts';
import { LabState } from './state/index.ts';
import { Trace } from './trace.ts';

const log = createLogger('lab');

export interface LabOptions {
  /** A number of default nodes, or each node's hardware (and BMC vendor profile, backend). */
  readonly nodes:
    | number
    | readonly (MachineSpec & { readonly vendor?: string; readonly backend?: 'sim' | 'qemu' })[];
  /** The nodes' backend unless a node names its own: `sim` (in this process) or `qemu` (real VMs). */
  readonly backend?: 'sim' | 'qemu';
  /** qemu nodes: where the guest images are cached (default .bmlab/images, or $BMLAB_IMAGES). */
  readonly qemu?: { readonly imagesDir?: string };
  /** How qemu nodes are networked: `user` (rootless, QEMU's NAT; default) or `bridge` (root). */
  readonly network?: { readonly mode: 'user' | 'bridge' };
  /** Where the lab keeps its files; omitted = a temporary directory removed at stop. */
  readonly stateDir?: string;
  readonly bmc?: {
    readonly address?: string;
    /**
     * One address per node instead (a rack: 127.0.1.1, 127.0.1.2, …). Ironic spaces its IPMI
     * commands per BMC address (`[ipmi]min_command_interval`), so BMCs sharing one address would
     * be throttled together, as no real rack is.
     */
    readonly addresses?: readonly string[];
    /** Node i listens on basePort + i; 0 = any free port per node. */
    readonly basePort?: number;
    readonly user?: string;
    readonly password?: string;
    readonly vendor?: string;
  };
  /** Multiplies every sim delay (POST, DHCP, downloads); 1 = realistic. */
  readonly timeScale?: number;
  readonly seed?: number;
  /** Port of the HTTP boot root server (0 = any). */
  readonly httpPort?: number;
  /** Start a mock Ironic in the lab (its boot files land in the lab's HTTP boot root). */
  /** Serve every node over Redfish too (sushy-tools style: `/redfish/v1/Systems/<node>`). */
  readonly redfish?: { readonly port?: number };
  readonly mockIronic?: {
    readonly port?: number;
    readonly minCommandInterval?: number;
    readonly automatedClean?: boolean;
    readonly syncPowerStateInterval?: number;
    readonly checkProvisionStateInterval?: number;
    readonly postDeployGetPowerStateRetryInterval?: number;
    /** `[conductor]deploy_callback_timeout` (s). */
    readonly deployCallbackTimeout?: number;
    /** `[ipmi]command_retry_timeout` (s). */
    readonly commandRetryTimeout?: number;
    /** The built-in inspector's `[DEFAULT]timeout` (s). */
    readonly inspectorTimeout?: number;
  };
  readonly agent?: { readonly heartbeatIntervalMs?: number };
}

export interface LabNode {
  readonly name: string;
  readonly index: number;
  readonly backend: 'sim' | 'qemu';
  readonly machine: SimMachine | QemuMachine;
  readonly bmc: Bmc;
  readonly endpoint: BmcEndpoint;
  /** The agent of the present ramdisk boot, if the machine runs one. */
  agent: Agent | undefined;
  /** How many times an agent started on this node. */
  agentBoots: number;
  /** Faults the next agent on this node starts with. */
  agentFaults: AgentFaults | undefined;
}

/** The files a lab serves for deploys: a small whole-disk image and stand-in agent kernel/ramdisk. */
export interface LabImages {
  readonly image: {
    readonly url: string;
    readonly md5: string;
    readonly sha256: string;
    readonly sizeBytes: number;
  };
  readonly deployKernel: string;
  readonly deployRamdisk: string;
}

/**
 * A 1 MiB whole-disk image with recognisable content, and stand-ins for the agent kernel and
 * ramdisk (the sim boots the agent from the kernel line; the files only have to exist, as for
 * real Ironic's ipxe boot interface).
 */
function writeImages(httpRoot: string, httpUrl: string, bootable?: Buffer): LabImages {
  const dir = join(httpRoot, 'images');
  mkdirSync(dir, { recursive: true });
  // qemu nodes boot what is written: then the image is the real bootable deploy image.
  const image = bootable ?? Buffer.alloc(1 << 20);
  if (bootable === undefined)
    for (let i = 0; i < image.length; i += 32)
      image.write(`bmlab-disk-image block ${i >> 5}\n`.padEnd(32, '.'), i);
  writeFileSync(join(dir, 'disk.raw'), image);
  if (bootable === undefined) {
    writeFileSync(
      join(dir, 'deploy_kernel'),
      'bmlab agent kernel (the sim boots the agent from the kernel line)\n',
    );
    writeFileSync(join(dir, 'deploy_ramdisk'), 'bmlab agent ramdisk\n');
  }
  return {
    image: {
      url: `${httpUrl}/images/disk.raw`,
      md5: createHash('md5').update(image).digest('hex'),
      sha256: createHash('sha256').update(image).digest('hex'),
      sizeBytes: image.length,
    },
    deployKernel: `${httpUrl}/images/deploy_kernel`,
    deployRamdisk: `${httpUrl}/images/deploy_ramdisk`,
  };
}

export class Lab {
  readonly nodes: readonly LabNode[];
  readonly stateDir: string;
  readonly httpRoot: string;
  readonly httpUrl: string;
  /**
   * The boot root as the machines reach it (`[deploy]http_url` for a provisioning system): QEMU guests
   * cannot reach 127.0.0.1, so with qemu nodes it is the lab's address on their network.
   */
  readonly guestHttpUrl: string;
  readonly ironic: MockIronic | undefined;
  readonly trace: Trace;
  readonly images: LabImages;
  /** Base URL of the Redfish service, when the lab serves one. */
  readonly redfishUrl: string | undefined;
  readonly #closers: (() => Promise<void>)[];
  readonly #tempDir: boolean;

  private constructor(p: {
    nodes: LabNode[];
    stateDir: string;
    httpRoot: string;
    httpUrl: string;
    guestHttpUrl: string;
    ironic: MockIronic | undefined;
    trace: Trace;
    images: LabImages;
    redfishUrl: string | undefined;
    closers: (() => Promise<void>)[];
    tempDir: boolean;
  }) {
    this.trace = p.trace;
    this.redfishUrl = p.redfishUrl;
    this.images = p.images;
    this.nodes = p.nodes;
    this.stateDir = p.stateDir;
    this.httpRoot = p.httpRoot;
    this.httpUrl = p.httpUrl;
    this.guestHttpUrl = p.guestHttpUrl;
    this.ironic = p.ironic;
    this.#closers = p.closers;
    this.#tempDir = p.tempDir;
  }

  get ironicUrl(): string | undefined {
    return this.ironic?.url;
  }

  node(name: string): LabNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  static async start(o: LabOptions): Promise<Lab> {
    const specs = typeof o.nodes === 'number' ? undefined : o.nodes;
    const count = specs?.length ?? (o.nodes as number);
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError('nodes', 'must be a whole number of at least 1');
    const tempDir = o.stateDir === undefined;
    const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'bmlab-'));
    const httpRoot = join(stateDir, 'httpboot');
    mkdirSync(httpRoot, { recursive: true });
    const closers: (() => Promise<void>)[] = [];
    const trace = new Trace();
    const closeAll = async () => {
      for (const c of closers.splice(0).reverse())
        await c().catch((err: unknown) => log.warn(`stop: ${String(err)}`));
    };
    // qemu nodes: the guest protocol's state, and the boot root's URL as the guests see it.
    const guests = new GuestRelays();
    let guestUrl = '';
    try {
      const backends = Array.from({ length: count }, (_, i) => specs?.[i]?.backend ?? o.backend ?? 'sim');
      const simIndexes = backends.flatMap((b, i) => (b === 'sim' ? [i] : []));
      const qemuImages = backends.includes('qemu') ? await prepareQemu(o.qemu?.imagesDir) : undefined;
      const http =
        qemuImages === undefined
          ? await startBootHttp({ root: httpRoot }, { port: o.httpPort ?? 0 })
          : await startLabBootHttp(httpRoot, guests, { port: o.httpPort ?? 0 });
      closers.push(http.close);
      // The boot root as QEMU guests reach it (user networking's gateway is this host).
      guestUrl = http.url.replace('127.0.0.1', USER_NET_HOST);
      const images = writeImages(
        httpRoot,
        http.url,
        qemuImages === undefined
          ? undefined
          : (await publishQemuImages(qemuImages, join(httpRoot, 'images'))).image,
      );

      const nodes: LabNode[] = [];
      const byMachine = new Map<SimMachine, LabNode>();
      const network = createSimBootNetwork({
        policy: { nextServer: '10.77.0.1', scriptUrl: `${http.url}/boot.ipxe` },
        pool: new LeasePool({ range: ['10.77.0.10', '10.77.255.250'], reserved: ['10.77.0.1'] }),
        // The sim reads the boot root directly: the same files a real NIC would fetch over HTTP.
        fetcher: directoryFetcher({
          http: [
            { urlPrefix: `${http.url}/`, dir: httpRoot },
            { urlPrefix: `${guestUrl}/`, dir: httpRoot },
          ],
        }),
      });
      const fleet = new SimFleet({
        count: simIndexes.length,
        specFor: (j) => {
          const i = simIndexes[j] ?? j;
          const s = specs?.[i];
          if (s === undefined) return defaultMachineSpec(i);
          const { vendor: _vendor, backend: _backend, ...spec } = s;
          return spec;
        },
        network,
        timeScale: o.timeScale ?? 1,
        ...(o.seed === undefined ? {} : { seed: o.seed }),
        onRamdiskBoot: (boot) => {
          const n = byMachine.get(boot.machine);
          if (n !== undefined) void startAgent(n, boot, o);
        },
      });
      closers.push(async () => {
        for (const n of nodes) await n.agent?.stop();
        await fleet.powerOffAll();
      });
      const qemuMachines = new Map<number, QemuMachine>();
      const bridge =
        qemuImages !== undefined && o.network?.mode === 'bridge'
          ? await startLabBridge(http.url, backends.filter((b) => b === 'qemu').length)
          : undefined;
      if (bridge !== undefined) {
        closers.push(() => bridge.close());
        guestUrl = bridge.guestUrl;
      }
      for (const [i, b] of backends.entries()) {
        if (b !== 'qemu') continue;
        const {
          vendor: _vendor,
          backend: _backend,
          ...spec
        } = specs?.[i] ?? {
          ...qemuDefaultSpec(i),
          vendor: undefined,
          backend: undefined,
        };
        qemuMachines.set(
          i,
          createQemuMachine(
            spec,
            stateDir,
            bridge === undefined
              ? { bootUrl: `${guestUrl}/boot.ipxe` }
              : { tap: bridge.tap(qemuMachines.size), namespace: bridge.namespace },
          ),
        );
      }
      closers.push(async () => {
        await Promise.all([...qemuMachines.values()].map((m) => m.powerOff()));
      });
      const byMac = new Map<string, LabNode>();
      guests.onAgentUp = (mac, report) => {
        const n = byMac.get(mac);
        if (n !== undefined) void startRelayAgent(n, mac, report, o);
      };
      guests.onPhoneHome = (mac, q) => {
        const n = byMac.get(mac);
        if (n !== undefined)
          trace.machine(n.name, { type: 'network-boot', step: `phone-home ${q['event'] ?? ''}` });
      };

      const bmcAddress = o.bmc?.address ?? '127.0.0.1';
      const machines = backends.map(
        (b, i) =>
          (b === 'qemu' ? qemuMachines.get(i) : fleet.machines[simIndexes.indexOf(i)]) as
            | SimMachine
            | QemuMachine,
      );
      for (const [i, machine] of machines.entries()) {
        const bmc = new Bmc({
          state: createBmcState({
            name: machine.id,
            username: o.bmc?.user ?? 'admin',
            password: o.bmc?.password ?? 'password',
            vendor: specs?.[i]?.vendor ?? o.bmc?.vendor ?? 'generic',
          }),
          machine,
        });
        const base = o.bmc?.basePort ?? 0;
        const endpoint = await BmcEndpoint.listen(bmc, {
          address: o.bmc?.addresses?.[i] ?? bmcAddress,
          port: base === 0 ? 0 : base + i,
        });
        closers.push(() => endpoint.close());
        const node: LabNode = {
          name: machine.id,
          index: i,
          backend: backends[i] ?? 'sim',
          machine,
          bmc,
          endpoint,
          agent: undefined,
          agentBoots: 0,
          agentFaults: undefined,
        };
        bmc.registry.observer = (t) => trace.ipmi(node.name, t);
        // The ramdisk's OS goes away with the power or a reboot, and its agent with it.
        machine.subscribe((e) => {
          trace.machine(node.name, e);
          if ((e.type === 'power' && e.state === 'off') || e.type === 'post') stopAgent(node);
        });
        nodes.push(node);
        if (backends[i] === 'sim') byMachine.set(machine as SimMachine, node);
        for (const nic of machine.spec.nics) byMac.set(nic.mac.toLowerCase(), node);
      }

      // The lab's own state: what the last run left is put back, changes are written through.
      const labState = LabState.open(tempDir ? ':memory:' : join(stateDir, 'lab.sqlite'));
      closers.push(async () => labState.close()); // runs before the machines are powered off
      const comeBack = labState.attach(nodes);

      let ironic: MockIronic | undefined;
      if (o.mockIronic !== undefined) {
        const m = o.mockIronic;
        ironic = new MockIronic({
          port: m.port ?? 0,
          stateDir,
          httpRoot,
          // Where the machines' iPXE fetches kernel and ramdisk: QEMU guests cannot reach 127.0.0.1.
          httpUrl: qemuImages === undefined ? http.url : guestUrl,
          conductor: {
            ipmi: {
              minCommandInterval: m.minCommandInterval ?? 1,
              commandRetryTimeout: m.commandRetryTimeout ?? 60,
            },
            ...(m.deployCallbackTimeout === undefined
              ? {}
              : { deployCallbackTimeout: m.deployCallbackTimeout }),
            ...(m.inspectorTimeout === undefined ? {} : { inspectorTimeout: m.inspectorTimeout }),
            automatedClean: m.automatedClean ?? false,
            syncPowerStateInterval: m.syncPowerStateInterval ?? 60,
            checkProvisionStateInterval: m.checkProvisionStateInterval ?? 10,
            postDeployGetPowerStateRetryInterval: m.postDeployGetPowerStateRetryInterval ?? 1,
          },
        });
        await ironic.start();
        if (qemuImages !== undefined)
          ironic.conductor.config.bootFiles.kernelAppendParams = QEMU_KERNEL_APPEND;
        const started = ironic;
        closers.push(() => started.stop());
      }
      let redfishUrl: string | undefined;
      if (o.redfish !== undefined) {
        const server = await RedfishServer.start(
          {
            systems: nodes.map((n) => redfishOptionsFromBmc(n.bmc)),
            auth: { username: o.bmc?.user ?? 'admin', password: o.bmc?.password ?? 'password' },
          },
          { host: bmcAddress, port: o.redfish.port ?? 0 },
        );
        closers.push(() => server.close());
        redfishUrl = server.url;
      }
      await labState.powerOnRestored(comeBack);
      return new Lab({
        nodes,
        stateDir,
        httpRoot,
        httpUrl: http.url,
        guestHttpUrl: qemuImages === undefined ? http.url : guestUrl,
        ironic,
        trace,
        images,
        closers,
        tempDir,
        redfishUrl,
      });
    } catch (err) {
      await closeAll();
      throw err;
    }

    /** A qemu node's agent ramdisk phoned home: its agent runs here and drives the in-guest relay. */
    async function startRelayAgent(n: LabNode, mac: string, report: GuestReport, opts: LabOptions) {
      stopAgent(n);
      const m = n.machine;
      const host = new RelayHost({
        spec: { ...m.spec, bmcAddress: n.endpoint.address.address },
        report,
        bootMode: m.bootOverride().mode,
        imageBaseUrl: `${guestUrl}${RELAY_IMAGE_PATH}`,
        onDisk: (_device, written) => {
          const sha = written?.digests.get('sha256');
          if (sha === undefined || written === undefined) m.disks[0]?.erase();
          else m.disks[0]?.write({ checksum: `sha256:${sha}`, sizeBytes: written.bytes });
        },
      });
      guests.bind(mac, host);
      await runAgent(n, report.cmdline, host, opts);
    }

    function stopAgent(n: LabNode): void {
      const a = n.agent;
      n.agent = undefined;
      if (a !== undefined) void a.stop();
    }

    async function startAgent(n: LabNode, boot: RamdiskBoot, opts: LabOptions): Promise<void> {
      stopAgent(n);
      const host = new SimHost(boot.machine, {
        bmcAddress: n.endpoint.address.address,
        ipv4: [boot.ip],
        inventoryDelayMs: 3_000,
      });
      await runAgent(n, boot.cmdline, host, opts);
    }

    /** A booted ramdisk's agent, run on this host for either backend. */
    async function runAgent(n: LabNode, cmdline: string, host: AgentHost, opts: LabOptions): Promise<void> {
      const agent = new Agent({
        cmdline,
        host,
        // The agent runs on this host: a provisioning-network address on the kernel line (a real
        // inspector's callback, the lab's boot server) is this host's loopback.
        resolveUrl: provisioningToLocal,
        ...(opts.agent?.heartbeatIntervalMs === undefined
          ? {}
          : { heartbeatIntervalMs: opts.agent.heartbeatIntervalMs }),
        ...(n.agentFaults === undefined ? {} : { faults: n.agentFaults }),
        onEvent: (e) => trace.agent(n.name, e),
      });
      n.agent = agent;
      n.agentBoots++;
      try {
        await agent.start();
      } catch (err) {
        log.warn(`${n.name}: agent did not start: ${String(err)}`);
      }
    }
  }

  /** Serves the lab API (see api.ts) until the lab stops; resolves to its base URL. */
  async serveApi(port = 0, host = '127.0.0.1'): Promise<string> {
    const app = buildLabApi(this);
    await app.listen({ port, host });
    this.#closers.push(() => app.close());
    const a = app.server.address();
    return `http://${host}:${typeof a === 'object' && a !== null ? a.port : port}`;
  }

  async stop(): Promise<void> {
    for (const c of this.#closers.splice(0).reverse()) {
      await c().catch((err: unknown) => log.warn(`stop: ${String(err)}`));
    }
    if (this.#tempDir) rmSync(this.stateDir, { recursive: true, force: true });
  }
}
