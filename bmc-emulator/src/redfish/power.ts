/**
 * `#ComputerSystem.Reset` (Resource.ResetType) onto the machine, as sushy-tools' drivers do it, and
 * the chassis readings that follow the power state.
 */
import { createLogger } from '../../../common/src/index.ts';
import type { Machine } from '../../../vm-fleet/src/index.ts';
import { Errors } from './errors.ts';

const log = createLogger('bmc:redfish:power');

/** How long a GracefulRestart waits for the guest to go down before it gives up (an OS reboot's budget). */
export const GRACEFUL_RESTART_WAIT_MS = 300_000;

export const RESET_TYPES = [
  'On',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'Nmi',
  'PushPowerButton',
] as const;
export type ResetType = (typeof RESET_TYPES)[number];

export function isResetType(v: unknown): v is ResetType {
  return typeof v === 'string' && (RESET_TYPES as readonly string[]).includes(v);
}

/**
 * Runs a reset type. Only a guest that honours ACPI powers off on GracefulShutdown (the request is
 * accepted either way, as a BMC presses the button and cannot know); GracefulRestart is the button
 * press followed by power on once the guest went down (now or later). An NMI needs a running
 * machine: 409.
 */
export async function runReset(machine: Machine, type: ResetType): Promise<void> {
  const on = machine.powerState() === 'on';
  switch (type) {
    case 'On':
      if (!on) await machine.powerOn();
      return;
    case 'ForceOff':
      if (on) await machine.powerOff();
      return;
    case 'GracefulShutdown':
      if (on) await machine.softOff();
      return;
    case 'GracefulRestart':
      if (on && (await machine.softOff()).accepted) {
        if (machine.powerState() === 'off') await machine.powerOn();
        else powerOnAfterShutdown(machine, GRACEFUL_RESTART_WAIT_MS);
      }
      return;
    case 'ForceRestart':
      // A powered-off machine comes up, as a reset line on a real board does after power good.
      if (on) await machine.reset();
      else await machine.powerOn();
      return;
    case 'Nmi':
      if (!on)
        throw Errors.conflict('The system is powered off: a diagnostic interrupt needs a running system.');
      await machine.diagnosticInterrupt();
      return;
    case 'PushPowerButton':
      if (on) await machine.softOff();
      else await machine.powerOn();
      return;
  }
}

/**
 * A guest that accepted the button press shuts down in its own time; the BMC answers the action at
 * once (Redfish resets are asynchronous) and powers the machine back on when it went off.
 */
function powerOnAfterShutdown(machine: Machine, timeoutMs: number): void {
  const stop = machine.subscribe((e) => {
    if (e.type !== 'power' || e.state !== 'off') return;
    done();
    machine
      .powerOn()
      .catch((err: unknown) => log.warn('power on after graceful restart failed: %s', String(err)));
  });
  const timer = setTimeout(() => {
    done();
    log.warn('%s did not shut down within %d ms: graceful restart abandoned', machine.id, timeoutMs);
  }, timeoutMs);
  timer.unref();
  function done() {
    stop();
    clearTimeout(timer);
  }
}

/**
 * One sensor as Chassis Power and Thermal show it. A system without its IPMI BMC's sensor model
 * (`sensorsFromBmc`) gets `defaultSensors`: the same kinds, following only the power state.
 */
export interface ChassisSensor {
  readonly name: string;
  readonly kind: 'temperature' | 'fan' | 'voltage' | 'power';
  /** Celsius, RPM, volts or watts; null when the sensor does not read (power-gated, host off). */
  readonly reading: number | null;
  readonly upperCritical?: number;
  readonly upperWarning?: number;
  readonly lowerCritical?: number;
  readonly state: 'Enabled' | 'StandbyOffline';
  readonly health: 'OK' | 'Warning' | 'Critical';
}

/** Idle draw of a small server: a base plus a share per CPU; 0 W, ambient temperature and still fans when off. */
export function defaultSensors(machine: Machine): ChassisSensor[] {
  const on = machine.powerState() === 'on';
  const inlet = 24;
  const ok = { state: 'Enabled', health: 'OK' } as const;
  return [
    {
      name: 'CPU Temp',
      kind: 'temperature',
      reading: on ? 41 + Math.min(machine.spec.cpus, 16) : inlet,
      upperCritical: 90,
      ...ok,
    },
    { name: 'Inlet Temp', kind: 'temperature', reading: inlet, upperCritical: 42, ...ok },
    {
      name: 'Fan1',
      kind: 'fan',
      reading: on ? 4200 : 0,
      ...(on ? ok : { state: 'StandbyOffline', health: 'OK' }),
    },
    { name: 'Pwr Consumption', kind: 'power', reading: on ? 90 + 8 * machine.spec.cpus : 0, ...ok },
  ];
}
