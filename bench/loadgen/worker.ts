// Worker-thread entry of the load generator. Protocol with pool.ts:
//   main → {type:'job', job}      worker prepares (opens sessions), then → {type:'ready', sessions}
//   main → {type:'go'}            worker runs the measured load,         then → {type:'measured', result}
//                                 worker cleans up (closes sessions),    then → {type:'finished'}
import { parentPort } from 'node:worker_threads';
import { type Job, type PreparedLoad, prepare } from './load.ts';

const port = parentPort;
if (port === null) throw new Error('bench/loadgen/worker.ts runs as a worker thread');

let load: PreparedLoad | undefined;
port.on('message', async (msg: { type: 'job'; job: Job } | { type: 'go' }) => {
  try {
    if (msg.type === 'job') {
      load = await prepare(msg.job);
      port.postMessage({ type: 'ready', sessions: load.sessions });
    } else if (load !== undefined) {
      const result = await load.run();
      port.postMessage({ type: 'measured', result }, [result.latenciesNs.buffer as ArrayBuffer]);
      await load.cleanup();
      port.postMessage({ type: 'finished' });
    }
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});
