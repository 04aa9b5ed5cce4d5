import Fastify, { type FastifyInstance } from 'fastify';

/**
 * A one-system Redfish service in the sushy-tools layout (`/redfish/v1/Systems/<id>`), enough for
 * Ironic's redfish power, management and inspect interfaces: PowerState, the Reset action, the Boot
 * override, Processors, SimpleStorage and EthernetInterfaces. A test peer for mock-ironic; the lab's
 * own Redfish BMC is bmc-emulator's.
 */
export interface RedfishPeerEvent {
  power: 'On' | 'Off';
  bootTarget: string;
}

export class RedfishPeer {
  readonly app: FastifyInstance;
  readonly events: RedfishPeerEvent[] = [];
  power: 'On' | 'Off' = 'Off';
  boot = {
    BootSourceOverrideTarget: 'None',
    BootSourceOverrideEnabled: 'Disabled',
    BootSourceOverrideMode: 'UEFI',
  };
  url = '';
  readonly #listeners: ((e: RedfishPeerEvent) => void)[] = [];

  constructor(
    readonly systemId: string,
    readonly mac: string,
  ) {
    const sys = `/redfish/v1/Systems/${systemId}`;
    const app = Fastify({ logger: false });
    const ref = (id: string) => ({ '@odata.id': id });
    app.get('/redfish/v1/', async () => ({ Systems: ref('/redfish/v1/Systems') }));
    app.get('/redfish/v1/Systems', async () => ({ Members: [ref(sys)], 'Members@odata.count': 1 }));
    app.get(sys, async () => ({
      '@odata.id': sys,
      Id: systemId,
      PowerState: this.power,
      Boot: this.boot,
      MemorySummary: { TotalSystemMemoryGiB: 4 },
      Processors: ref(`${sys}/Processors`),
      SimpleStorage: ref(`${sys}/SimpleStorage`),
      EthernetInterfaces: ref(`${sys}/EthernetInterfaces`),
      Actions: { '#ComputerSystem.Reset': { target: `${sys}/Actions/ComputerSystem.Reset` } },
    }));
    app.get(`${sys}/Processors`, async () => ({ Members: [ref(`${sys}/Processors/CPU0`)] }));
    app.get(`${sys}/Processors/CPU0`, async () => ({ TotalThreads: 2, ProcessorArchitecture: 'x86' }));
    app.get(`${sys}/SimpleStorage`, async () => ({ Members: [ref(`${sys}/SimpleStorage/0`)] }));
    app.get(`${sys}/SimpleStorage/0`, async () => ({
      Devices: [{ CapacityBytes: 11 * 2 ** 30, Status: { State: 'Enabled' } }],
    }));
    app.get(`${sys}/EthernetInterfaces`, async () => ({ Members: [ref(`${sys}/EthernetInterfaces/nic0`)] }));
    app.get(`${sys}/EthernetInterfaces/nic0`, async () => ({
      MACAddress: this.mac.toUpperCase(),
      Status: { State: 'Enabled', Health: 'OK' },
    }));
    app.post<{ Body: { ResetType: string } }>(`${sys}/Actions/ComputerSystem.Reset`, async (req, reply) => {
      const t = req.body.ResetType;
      if (t === 'On' || t === 'ForceOn') this.#set('On');
      else if (t === 'ForceOff' || t === 'GracefulShutdown') this.#set('Off');
      else return reply.code(400).send({ error: { message: `unsupported ResetType ${t}` } });
      return reply.code(204).send();
    });
    app.patch<{ Body: { Boot?: Record<string, string> } }>(sys, async (req, reply) => {
      this.boot = { ...this.boot, ...req.body.Boot };
      return reply.code(204).send();
    });
    this.app = app;
  }

  #set(power: 'On' | 'Off'): void {
    if (this.power === power) return;
    this.power = power;
    const e = { power, bootTarget: this.boot.BootSourceOverrideTarget };
    this.events.push(e);
    for (const l of this.#listeners) l(e);
    // A "Once" override is consumed by the boot it applied to.
    if (power === 'On' && this.boot.BootSourceOverrideEnabled === 'Once') {
      this.boot = { ...this.boot, BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideTarget: 'None' };
    }
  }

  /** The machine powers itself off (the OS honouring `standby.power_off`). */
  powerOffFromInside(): void {
    this.#set('Off');
  }

  onEvent(fn: (e: RedfishPeerEvent) => void): void {
    this.#listeners.push(fn);
  }

  async start(): Promise<string> {
    await this.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = this.app.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
