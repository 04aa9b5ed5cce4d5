// `npm run bench:ironic`: N sim nodes (default 20) taken through manage → inspect → provide → deploy →
// undeploy by a real Ironic 21.4 + ironic-inspector 11.1 (Debian's packages, started the way
// `bmlab run --ironic real` starts them), every phase for all nodes at once. Run once per
// `[ipmi]min_command_interval` (default: 5, Ironic's default, then 1, the reference lab's).
//
// For each phase: wall time, per-node times, ipmitool runs per node as the BMCs saw them (one RMCP+
// session each) and which IPMI commands, and the CPU of the lab (BMCs, sim, agents), of Ironic (and
// its ipmitool children) and of inspector, with the lab's event-loop delay: the lab must never be
// what slows Ironic down. For inspection, where each node's time goes between Ironic's start, the
// machine's power-on, the agent's inventory and Ironic noticing it on its 5 s inspector poll.
//
//   npm run bench:ironic -- [--nodes 20] [--intervals 5,1] [--heartbeat-ms 2000] [--time-scale 1]
//                           [--state-dir DIR]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { installRealIronic, Lab, type RealIronic, startRealIronic } from '../lab/src/index.ts';
import { IronicClient, type IronicNode } from '../scenarios/src/index.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    intervals: { type: 'string', default: '5,1' },
    'heartbeat-ms': { type: 'string', default: '2000' },
    // Realistic sim timing: a time-scaled boot (0.05 is ~0.5 s) lets the agent post its inventory
    // while Ironic, min_command_interval apart, still confirms the power-on; inspector's PATCH of
    // the still-locked node then fails the inspection with a 409.
    'time-scale': { type: 'string', default: '1' },
    // Keep the lab's and Ironic's files (logs, config) here, one directory per interval.
    'state-dir': { type: 'string' },
  },
});
const nodeCount = Number(values.nodes);
const intervals = values.intervals.split(',').map(Number);

/** utime+stime (own) and cutime+cstime (reaped children) of a process, in seconds. */
function procCpu(pid: number | 'self'): number[] {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = f
      .slice(f.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return [((v[11] ?? 0) + (v[12] ?? 0)) / 100, ((v[13] ?? 0) + (v[14] ?? 0)) / 100];
  } catch {
    return [0, 0];
  }
}

function machineBusy(): number {
  const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (v.slice(0, 8).reduce((a, b) => a + b, 0) - (v[3] ?? 0) - (v[4] ?? 0)) / 100;
}

const rack = (n: number) =>
  Array.from({ length: n }, (_, i) => `127.0.${1 + Math.floor(i / 254)}.${(i % 254) + 1}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');

/** IPMI commands that only set up or probe a session; the rest name what ipmitool was run for. */
const SESSION = new Set([
  'getChannelAuthCapabilities',
  'setSessionPrivilegeLevel',
  'closeSession',
  'unknown',
]);

async function runOnce(minCommandInterval: number): Promise<string[]> {
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    console.log(s);
  };
  const keep = values['state-dir'];
  const lab = await Lab.start({
    ...(keep === undefined ? {} : { stateDir: join(keep, `mci-${minCommandInterval}`) }),
    nodes: nodeCount,
    bmc: { addresses: rack(nodeCount) },
    timeScale: Number(values['time-scale']),
    agent: { heartbeatIntervalMs: Number(values['heartbeat-ms']) },
  });
  let ironic: RealIronic | undefined;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    ironic = await startRealIronic({
      stateDir: join(lab.stateDir, 'ironic'),
      httpRoot: lab.httpRoot,
      httpUrl: lab.httpUrl,
      minCommandInterval,
    });
    const real = ironic;
    say(
      `\nreal Ironic 21.4 + inspector, ${nodeCount} sim nodes, [ipmi]min_command_interval ${minCommandInterval} s, [inspector]status_check_period 5 s, heartbeat ${values['heartbeat-ms']} ms, sim time-scale ${values['time-scale']} (started in ${f1(real.startMs / 1000)} s)`,
    );
    // A loaded machine can hold one of Ironic's answers up for a long time; that is measured, not an error.
    const api = new IronicClient(real.url, { timeoutMs: 300_000 });
    const uuids: string[] = [];
    for (const n of lab.nodes) {
      const node = await api.createNode({
        name: n.name,
        driver: 'ipmi',
        boot_interface: 'ipxe',
        deploy_interface: 'direct',
        inspect_interface: 'inspector',
        driver_info: {
          ipmi_address: n.endpoint.address.address,
          ipmi_port: n.endpoint.address.port,
          ipmi_username: 'admin',
          ipmi_password: 'password',
          deploy_kernel: lab.images.deployKernel,
          deploy_ramdisk: lab.images.deployRamdisk,
        },
      });
      for (const nic of n.machine.spec.nics) await api.createPort(nic.mac, node.uuid);
      uuids.push(node.uuid);
    }

    /** One phase: every node at once, then poll each every second until all rest in `target`. */
    const phase = async (
      name: string,
      target: string,
      fail: string[],
      before?: (uuid: string) => Promise<void>,
    ) => {
      const t0 = Date.now();
      const cpu0 = {
        lab: procCpu('self'),
        ironic: procCpu(real.pids.ironic),
        insp: procCpu(real.pids.inspector ?? 0),
      };
      const busy0 = machineBusy();
      const log0 = real.log().length;
      loop.reset();
      loop.enable();
      const verb =
        name === 'inspect'
          ? 'inspect'
          : name === 'deploy'
            ? 'active'
            : name === 'undeploy'
              ? 'deleted'
              : name;
      // Every node at once (as an operator's script would), then one list call a second for all of
      // them: polling each node would load Ironic's single API worker more than the phase itself.
      await Promise.all(
        uuids.map(async (uuid) => {
          await before?.(uuid);
          await api.setProvisionState(uuid, verb);
        }),
      );
      const reached = new Map<string, number>();
      const deadline = t0 + 900_000;
      while (reached.size < uuids.length) {
        if (Date.now() > deadline)
          throw new Error(`${name}: ${uuids.length - reached.size} nodes not ${target} after 15 min`);
        await new Promise((r) => setTimeout(r, 1000));
        const list = await api.request<{ nodes: IronicNode[] }>(
          'GET',
          '/v1/nodes?fields=uuid,provision_state,target_provision_state,last_error',
        );
        for (const n of list.nodes) {
          if (fail.includes(n.provision_state))
            throw new Error(`${n.uuid}: ${n.provision_state}: ${n.last_error}`);
          if (n.provision_state === target && !n.target_provision_state && !reached.has(n.uuid))
            reached.set(n.uuid, Date.now());
        }
      }
      const done = uuids.map((u) => reached.get(u) as number);
      loop.disable();
      const t1 = Date.now();
      const cpu = {
        lab: procCpu('self')[0]! - cpu0.lab[0]!,
        ironic: procCpu(real.pids.ironic)[0]! - cpu0.ironic[0]!,
        ipmitool: procCpu(real.pids.ironic)[1]! - cpu0.ironic[1]!,
        insp: procCpu(real.pids.inspector ?? 0)[0]! - cpu0.insp[0]!,
      };
      const busy = machineBusy() - busy0;
      const ev = lab.nodes.map((n) => lab.trace.events(n.name, t0).filter((e) => e.at <= t1));
      const ipmi = ev.map((e) => e.filter((x) => x.kind === 'ipmi'));
      const sessions = ipmi.map((e) => e.filter((x) => x.label === 'closeSession').length);
      const requests = ipmi.reduce((a, e) => a + e.length, 0);
      const tally = new Map<string, number>();
      for (const e of ipmi.flat())
        if (!SESSION.has(e.label)) tally.set(e.label, (tally.get(e.label) ?? 0) + 1);
      // What Ironic ran, from its debug log (processutils: "Running cmd (subprocess): ipmitool ... -f <file> <command>").
      const ran = new Map<string, number>();
      for (const m of real
        .log()
        .slice(log0)
        .matchAll(/Running cmd \(subprocess\): ipmitool .*? -f \S+ (.+?) execute /g)) {
        const cmd = (m[1] ?? '').trim();
        ran.set(cmd, (ran.get(cmd) ?? 0) + 1);
      }
      const syncs = real.log().slice(log0).split('_sync_power_states').length - 1;
      // How long each ipmitool run took as Ironic saw it (processutils: `CMD "ipmitool ..." returned: 0 in 0.052s`):
      // the BMC's answers plus ipmitool's own start-up.
      const took = [
        ...real
          .log()
          .slice(log0)
          .matchAll(/CMD "ipmitool [^"]*" returned: \d+ in ([\d.]+)s/g),
      ]
        .map((m) => Number(m[1]) * 1000)
        .sort((a, b) => a - b);
      const q = (p: number) => took[Math.min(took.length - 1, Math.floor(p * took.length))] ?? Number.NaN;
      const per = done.map((d) => (d - t0) / 1000);
      const wall = (t1 - t0) / 1000;
      say(
        `  ${name}: ${f1(wall)} s wall for all ${nodeCount} (per node median ${f1(median(per))} s, slowest ${f1(Math.max(...per))} s)`,
      );
      say(
        `    IPMI       ${sessions.reduce((a, b) => a + b, 0)} ipmitool runs (BMC sessions), ${f1(median(sessions))} per node (min ${Math.min(...sessions)}, max ${Math.max(...sessions)}); ${requests} requests`,
      );
      say(
        `    Ironic ran ${[...ran]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ×${f1(v / nodeCount)}`)
          .join(', ')} (per node, from its log; ${syncs} log lines of the periodic power sync)`,
      );
      say(
        `               BMC commands: ${[...tally]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${f1(v / nodeCount)}`)
          .join(', ')} (per node; Get Device ID is in every session)`,
      );
      say(
        `    ipmitool   as Ironic timed each run: median ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, max ${q(1).toFixed(0)} ms`,
      );
      say(
        `    CPU (s)    lab ${f1(cpu.lab)} (${requests === 0 ? '-' : ((cpu.lab / requests) * 1e6).toFixed(0)} µs per IPMI request, an upper bound for the BMCs), Ironic ${f1(cpu.ironic)}, its ipmitool ${f1(cpu.ipmitool)}, inspector ${f1(cpu.insp)}; machine busy ${f1(busy)} of ${f1(wall * cpus().length)} CPU-s`,
      );
      say(
        `    lab loop   delay mean ${(loop.mean / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
      );
      return { t0, ev, done };
    };

    await phase('manage', 'manageable', ['enroll']);
    const insp = await phase('inspect', 'manageable', ['inspect failed']);
    // Where each inspection's time went, from the BMC's and the agent's side of the trace and
    // Ironic's log ("Inspection finished successfully for node <uuid>", logged by its clean-up
    // once its inspector status poll has seen inspector finish).
    const finished = new Map<string, number>();
    for (const m of real
      .log()
      .matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*Inspection finished successfully for node (\S+)/gm))
      finished.set(m[2] as string, Date.parse(`${(m[1] as string).replace(' ', 'T')}Z`));
    const parts = insp.ev.map((e, i) => {
      const firstIpmi = e.find((x) => x.kind === 'ipmi')?.at ?? Number.NaN;
      const on = e.find((x) => x.kind === 'power' && x.label === 'power on')?.at ?? Number.NaN;
      const sent = e.find((x) => x.kind === 'agent' && x.label === 'inspection data sent')?.at ?? Number.NaN;
      const fin = finished.get(uuids[i] as string) ?? Number.NaN;
      const end = insp.done[i] as number;
      return [firstIpmi - insp.t0, on - firstIpmi, sent - on, fin - sent, end - fin].map((x) => x / 1000);
    });
    const col = (k: number) => f1(median(parts.map((p) => p[k] as number)));
    say(
      `    where (median per node, s): request → Ironic's first IPMI ${col(0)}; power-off check + PXE boot device + power on ${col(1)}; boot → agent's inventory at inspector ${col(2)}; inventory → Ironic's clean-up done (inspector powers off via the API; Ironic's 5 s inspector poll) ${col(3)}; → seen manageable (1 s poll) ${col(4)}`,
    );
    await phase('provide', 'available', ['clean failed']);
    const img = lab.images.image;
    await phase('deploy', 'active', ['deploy failed'], (uuid) =>
      api
        .patchNode(uuid, [
          {
            op: 'add',
            path: '/instance_info',
            value: { image_source: img.url, image_checksum: img.md5, image_disk_format: 'raw' },
          },
        ])
        .then(() => undefined),
    );
    await phase('undeploy', 'available', ['error', 'clean failed']);
  } finally {
    await ironic?.stop();
    await lab.stop();
  }
  return out;
}

installRealIronic((l) => console.log(l));
console.log(
  `${cpus().length} CPUs, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const mci of intervals) await runOnce(mci);
console.log(
  `\nload after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
process.exit(0);
