// Runs one load across worker threads and brackets the measured window, so the caller can read the
// server's CPU counters exactly when the load starts and when the last worker stops.
import { Worker } from 'node:worker_threads';
import { mergeSamples } from '../src/loadgen/stats.ts';
import type { Job, LoadResult } from './load.ts';

export interface Window {
  /** Called right before the workers are told to go. */
  onStart(): void;
  /** Called when the last worker has stopped its measured load (before sessions are closed). */
  onStop(): void;
}

type FromWorker =
  | { type: 'ready'; sessions: number }
  | { type: 'measured'; result: LoadResult }
  | { type: 'finished' }
  | { type: 'error'; message: string };

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Splits a job into per-worker shares; workers left without work are not started. */
function shares(job: Job, workers: number): Job[] {
  const n = Math.min(workers, job.kind === 'setups' ? job.concurrency : job.clients);
  // Each worker gets its own slice of the client port range.
  const slice = Math.floor(job.ports.count / n);
  const ports = (i: number) => ({ from: job.ports.from + i * slice, count: slice });
  if (job.kind === 'setups') {
    const counts = split(job.count, n);
    return split(job.concurrency, n).map((concurrency, i) => ({
      ...job,
      concurrency,
      count: counts[i]!,
      ports: ports(i),
    }));
  }
  return split(job.clients, n).map((clients, i) => ({ ...job, clients, ports: ports(i) }));
}

// Worker threads do not inherit the main thread's module hooks: register tsx's loader first, as
// bin/bmlab.mjs does, then load the TypeScript entry.
const BOOT = `
  const { register } = await import('tsx/esm/api');
  register();
  await import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)});
`;

class WorkerHandle {
  private readonly worker = new Worker(BOOT, { eval: true });
  private waiters: ((m: FromWorker) => void)[] = [];
  private inbox: FromWorker[] = [];

  constructor() {
    this.worker.on('message', (m: FromWorker) => {
      const w = this.waiters.shift();
      if (w) w(m);
      else this.inbox.push(m);
    });
    this.worker.on('error', (err) => this.deliver({ type: 'error', message: err.stack ?? err.message }));
  }

  private deliver(m: FromWorker): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.inbox.push(m);
  }

  send(msg: unknown): void {
    this.worker.postMessage(msg);
  }

  async next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    const m = this.inbox.shift() ?? (await new Promise<FromWorker>((resolve) => this.waiters.push(resolve)));
    if (m.type === 'error') throw new Error(`load worker failed: ${m.message}`);
    if (m.type !== type) throw new Error(`load worker: expected '${type}', got '${m.type}'`);
    return m as Extract<FromWorker, { type: T }>;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export async function runLoad(job: Job, workers: number, window: Window): Promise<LoadResult> {
  const handles = shares(job, workers).map((share) => {
    const h = new WorkerHandle();
    h.send({ type: 'job', job: share });
    return h;
  });
  try {
    const ready = await Promise.all(handles.map((h) => h.next('ready')));
    window.onStart();
    for (const h of handles) h.send({ type: 'go' });
    const measured = await Promise.all(handles.map((h) => h.next('measured')));
    window.onStop();
    await Promise.all(handles.map((h) => h.next('finished')));

    const results = measured.map((m) => m.result);
    const errors: LoadResult['errors'] = {};
    for (const r of results) {
      for (const [k, v] of Object.entries(r.errors)) {
        const slot = errors[k];
        if (slot) slot.count += v.count;
        else errors[k] = { ...v };
      }
    }
    return {
      ok: results.reduce((n, r) => n + r.ok, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      errors,
      latenciesNs: mergeSamples(results.map((r) => r.latenciesNs)),
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
      sessions: ready.reduce((n, r) => n + r.sessions, 0),
    };
  } finally {
    await Promise.all(handles.map((h) => h.terminate()));
  }
}
