/**
 * Agent-side faults a scenario can inject. Each one reproduces a failure seen in the field:
 * a ramdisk that hangs (heartbeats stop, or inspection data never sent), a step that errors, a slow or flaky disk or network.
 */
import { type IpaError, ipaError } from './errors.ts';

export interface AgentFaults {
  /** After this many successful heartbeats the agent sends no more (Ironic times the node out). */
  readonly heartbeatsStopAfter?: number;
  /**
   * Commands that fail, by full name (`standby.power_off`, `deploy.get_deploy_steps`) or by step name
   * (`write_image`, `erase_devices`): the command or step ends FAILED with the error IPA would report.
   */
  readonly failCommands?: readonly string[];
  /** Extra time each image write takes, and a throughput cap (bytes/s) for it. */
  readonly writeDelayMs?: number;
  readonly writeBytesPerSecond?: number;
  /**
   * `download`: bytes are damaged in transit, the checksum check catches it and write_image fails.
   * `disk`: the disk stores damaged bytes while the download verified, so the agent reports success
   * (silent corruption, found only by reading the disk back).
   */
  readonly corruptWrite?: 'download' | 'disk';
  /**
   * The ramdisk never calls back after an inspection boot (hung collecting, or inspector unreachable
   * on the provisioning network): no `/v1/continue`, so inspector times the introspection out.
   */
  readonly inspectionNeverCallsBack?: boolean;
}

const stepKinds = { execute_deploy_step: 'DeploymentError', execute_clean_step: 'CleaningError' } as const;

/** The error for a command a scenario made fail, or undefined when it runs normally. */
export function injectedFailure(
  faults: AgentFaults,
  fullName: string,
  params: Record<string, unknown>,
): IpaError | undefined {
  const names = faults.failCommands ?? [];
  if (names.includes(fullName))
    return ipaError('CommandExecutionError', `bmlab fault injection: ${fullName} fails`);
  const cmd = fullName.slice(fullName.indexOf('.') + 1);
  if (cmd === 'execute_deploy_step' || cmd === 'execute_clean_step') {
    const step = (params['step'] as { step?: unknown } | undefined)?.step;
    if (typeof step === 'string' && names.includes(step)) {
      // IPA wraps an unexpected exception in a step this way (extensions/deploy.py, clean.py).
      const kind = cmd === 'execute_deploy_step' ? 'deploy' : 'clean';
      return ipaError(
        stepKinds[cmd],
        `Unexpected exception performing ${kind} step ${step}. FaultInjected: bmlab fault injection: ${step} fails`,
      );
    }
  }
  return undefined;
}

/** Flips one bit in every 4 KiB so that any checksum changes while the size stays the same. */
export async function* corrupt(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for await (const chunk of source) {
    const copy = Buffer.from(chunk);
    for (let i = (4096 - (offset % 4096)) % 4096; i < copy.length; i += 4096) copy[i] = (copy[i] ?? 0) ^ 0x01;
    offset += copy.length;
    yield copy;
  }
}

/** Paces a stream to `bytesPerSecond`. */
export async function* throttle(
  source: AsyncIterable<Uint8Array>,
  bytesPerSecond: number,
  sleep: (ms: number) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    await sleep((chunk.length / bytesPerSecond) * 1000);
    yield chunk;
  }
}
