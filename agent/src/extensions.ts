/**
 * The commands this agent serves, one row each (IPA `extensions/{deploy,clean,standby,image,log}.py`).
 * Sync commands finish inside the request; async ones answer RUNNING and finish in the background.
 * Results are what IPA returns; reference ironic.md §5 lists which Ironic 21.4 sends when.
 */
import type { CommandSpec } from './commands.ts';
import {
  checkVersions,
  cleanSteps,
  currentVersions,
  deploySteps,
  runStep,
  stepsByManager,
} from './hardware.ts';
import type { AgentHost } from './host.ts';
import { type ImageContext, writeImage } from './image.ts';
import { gzipAndB64 } from './tar.ts';

export interface AgentState {
  /** The node dict Ironic last sent (IPA `hardware.cache_node`). */
  node: unknown;
  /** `None` until an image is written (then `{}` or `{"root uuid": ...}`), as StandbyExtension keeps it. */
  partitionUuids: Record<string, string> | null;
}

export interface AgentContext extends ImageContext {
  readonly host: AgentHost;
  readonly state: AgentState;
  /** The OS goes down after the command has been recorded as SUCCEEDED. */
  readonly shutdown: (kind: 'poweroff' | 'reboot') => void;
  /** The agent's own log, for collect_system_logs. */
  readonly agentLog: () => readonly string[];
}

type Spec = CommandSpec<AgentContext>;

const p = (params: Record<string, unknown>, key: string): unknown => params[key];

/** Keyword arguments beyond the named ones (`**kwargs`), which steps receive. */
function rest(params: Record<string, unknown>, named: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !named.includes(k)));
}

function stepContext(ctx: AgentContext) {
  return {
    host: ctx.host,
    writeImage: async (node: unknown, info: Record<string, unknown>, configdrive: unknown) => {
      const out = await writeImage(node, info, configdrive, ctx);
      ctx.state.partitionUuids = out.partitionUuids;
      return { result: out.result };
    },
  };
}

export const agentCommands: readonly Spec[] = [
  {
    name: 'deploy.get_deploy_steps',
    mode: 'sync',
    params: { required: ['node', 'ports'] },
    run: (a, ctx) => {
      ctx.state.node = p(a, 'node');
      return { deploy_steps: stepsByManager(deploySteps), hardware_manager_version: currentVersions() };
    },
  },
  {
    name: 'deploy.execute_deploy_step',
    mode: 'async',
    params: { required: ['step', 'node', 'ports'], optional: ['deploy_version'], rest: true },
    run: async (a, ctx) => {
      ctx.state.node = p(a, 'node');
      checkVersions(p(a, 'deploy_version'));
      const step = (p(a, 'step') ?? {}) as Record<string, unknown>;
      const extra = rest(a, ['step', 'node', 'ports', 'deploy_version']);
      const result = await runStep('deploy', step, p(a, 'node'), p(a, 'ports'), extra, stepContext(ctx));
      return { deploy_result: result ?? null, deploy_step: step };
    },
  },
  {
    name: 'clean.get_clean_steps',
    mode: 'sync',
    params: { required: ['node', 'ports'] },
    run: (a, ctx) => {
      ctx.state.node = p(a, 'node');
      return { clean_steps: stepsByManager(cleanSteps), hardware_manager_version: currentVersions() };
    },
  },
  {
    name: 'clean.execute_clean_step',
    mode: 'async',
    params: { required: ['step', 'node', 'ports'], optional: ['clean_version'], rest: true },
    run: async (a, ctx) => {
      ctx.state.node = p(a, 'node');
      checkVersions(p(a, 'clean_version'));
      const step = (p(a, 'step') ?? {}) as Record<string, unknown>;
      const extra = rest(a, ['step', 'node', 'ports', 'clean_version']);
      const result = await runStep('clean', step, p(a, 'node'), p(a, 'ports'), extra, stepContext(ctx));
      return { clean_result: result ?? null, clean_step: step };
    },
  },
  {
    name: 'standby.get_partition_uuids',
    mode: 'sync',
    params: {},
    run: (_a, ctx) => ctx.state.partitionUuids ?? {},
  },
  {
    name: 'standby.sync',
    mode: 'sync',
    params: {},
    run: async (_a, ctx) => {
      await ctx.host.sync();
      return null;
    },
  },
  {
    name: 'standby.power_off',
    mode: 'async',
    params: {},
    run: async (_a, ctx) => {
      await ctx.host.sync();
      ctx.shutdown('poweroff');
      return null;
    },
  },
  {
    name: 'standby.run_image',
    mode: 'async',
    params: {},
    run: async (_a, ctx) => {
      await ctx.host.sync();
      ctx.shutdown('reboot');
      return null;
    },
  },
  {
    // Ironic sends it for partition images and UEFI whole-disk images. The disk already holds the
    // image's own boot loader; the agent checks that an image was written to boot from.
    name: 'image.install_bootloader',
    mode: 'async',
    params: {
      required: ['root_uuid'],
      optional: [
        'efi_system_part_uuid',
        'prep_boot_part_uuid',
        'target_boot_mode',
        'ignore_bootloader_failure',
      ],
    },
    run: (a, ctx) => {
      if (ctx.state.partitionUuids === null) {
        throw new Error(
          `No image has been written; cannot install a boot loader for root ${String(p(a, 'root_uuid'))}`,
        );
      }
      ctx.log(
        `boot loader: target_boot_mode=${String(p(a, 'target_boot_mode') ?? 'bios')} root=${String(p(a, 'root_uuid'))}`,
      );
      return null;
    },
  },
  {
    name: 'log.collect_system_logs',
    mode: 'sync',
    params: {},
    run: async (_a, ctx) => {
      const files = await ctx.host.systemLogs();
      return {
        system_logs: gzipAndB64({ ...files, 'ironic-python-agent.log': `${ctx.agentLog().join('\n')}\n` }),
      };
    },
  },
];
