// Does a session leave anything behind? RMCP+ session setups (Open Session, RAKP 1-4, an encrypted
// Close Session) fed to one Bmc in process, with a full garbage collection every 5,000: the live heap
// and RSS after each collection should not grow. (`npm run bench` samples the RSS of a running server,
// which also shows when its collector last ran; this separates the two.)
//
//   node --expose-gc --import tsx bench/heap.ts [setups, default 40000]
import { Bmc } from '../bmc-emulator/src/ipmi/bmc.ts';
import { createBmcState } from '../bmc-emulator/src/ipmi/state.ts';
import { defaultMachineSpec, InMemoryMachine } from '../vm-fleet/src/index.ts';
import { exchanger, openSession, sessionFrame } from './src/loadgen/in-process.ts';
import { encodeRequest } from './src/loadgen/wire.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const total = Number(process.argv[2] ?? 40_000);

const bmc = new Bmc({
  state: createBmcState({ name: 'bench' }),
  machine: new InMemoryMachine(defaultMachineSpec(0)),
});
/** One setup from a fresh client port, as every ipmitool run is; closed at the end. */
async function setup(port: number): Promise<void> {
  const peer = { address: '127.0.0.1', port };
  const session = await openSession(bmc, peer, { user: 'admin', password: 'password' });
  // Close Session (IPMI v2.0 section 22.19, App 3Ch): the session's own ID.
  const id = Buffer.alloc(4);
  id.writeUInt32LE(session.managedSid);
  await exchanger(
    bmc,
    peer,
  )(sessionFrame(session, 1, encodeRequest({ netFn: 0x06, cmd: 0x3c, rqSeq: 1, data: id })));
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
for (let done = 0; ; done++) {
  if (done % 5000 === 0) {
    gc();
    const m = process.memoryUsage();
    console.log(
      `${done} setups: heap used ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB, RSS ${mb(m.rss)} MB, ` +
        `sessions held ${bmc.sessionCount()}`,
    );
  }
  if (done === total) break;
  await setup(33_000 + (done % 28_000));
}
