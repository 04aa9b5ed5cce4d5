/**
 * Many sim machines sharing one boot network, timing profile and seed. Creating a machine costs a
 * few small objects and no timers, so fleets of thousands are cheap until they are powered on.
 */
import { defaultMachineSpec, type MachineSpec } from '../machine.ts';
import { SimMachine, type SimMachineOptions } from './machine.ts';

export interface SimFleetOptions extends Omit<SimMachineOptions, 'spec' | 'uuid'> {
  readonly count: number;
  /** Spec of node `i`; defaults to `defaultMachineSpec(i)` (MAC 52:54:00 + index). */
  readonly specFor?: (index: number) => MachineSpec;
  /** SMBIOS UUID of node `i`. */
  readonly uuidFor?: (index: number) => string;
}

export class SimFleet {
  readonly machines: readonly SimMachine[];
  readonly #byName = new Map<string, SimMachine>();

  constructor(opts: SimFleetOptions) {
    const { count, specFor, uuidFor, ...common } = opts;
    const machines: SimMachine[] = [];
    for (let i = 0; i < count; i++) {
      const spec = specFor?.(i) ?? defaultMachineSpec(i);
      const m = new SimMachine({
        ...common,
        spec,
        ...(uuidFor ? { uuid: uuidFor(i) } : { uuid: simUuid(i) }),
      });
      machines.push(m);
      this.#byName.set(m.id, m);
    }
    this.machines = machines;
  }

  get(name: string): SimMachine | undefined {
    return this.#byName.get(name);
  }

  /** Sets the ramdisk hook of every machine (see `SimMachine.setRamdiskHook`). */
  setRamdiskHook(hook: SimMachineOptions['onRamdiskBoot']): void {
    for (const m of this.machines) m.setRamdiskHook(hook);
  }

  async powerOnAll(): Promise<void> {
    await Promise.all(this.machines.map((m) => m.powerOn()));
  }

  /** Hard power off every machine; pending boot timers are cancelled with it. */
  async powerOffAll(): Promise<void> {
    await Promise.all(this.machines.map((m) => m.powerOff()));
  }
}

/** A stable SMBIOS-style UUID per node index. */
export function simUuid(index: number): string {
  const hex = (index >>> 0).toString(16).padStart(12, '0');
  return `5b5c6d00-0000-4000-8000-${hex}`;
}
