// Does a session leave anything behind? RMCP+ session setups (Open Session, RAKP 1-4, an encrypted
// Close Session) fed to one Bmc in process, with a full garbage collection every 5,000: the live heap
// and RSS after each collection should not grow. (`npm run bench` samples the RSS of a running server,
// which also shows when its collector last ran; this separates the two.)
//
//   node --expose-gc --import tsx bench/heap.ts [setups, default 40000]
import { randomBytes } from 'node:crypto';
import { Bmc } from '../bmc-emulator/src/ipmi/bmc.ts';
import { createBmcState } from '../bmc-emulator/src/ipmi/state.ts';
import { defaultMachineSpec, InMemoryMachine } from '../vm-fleet/src/index.ts';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  deriveKeys,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encryptPayload,
  integrity,
  type RakpExchange,
  ROLE_ADMIN_NAME_ONLY,
  rakp3AuthCode,
} from './src/loadgen/rakp.ts';
import { decodeSession20, encodeRequest, encodeSession20, PayloadType } from './src/loadgen/wire.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const total = Number(process.argv[2] ?? 40_000);

const bmc = new Bmc({
  state: createBmcState({ name: 'bench' }),
  machine: new InMemoryMachine(defaultMachineSpec(0)),
});
const password = Buffer.from('password');
const user = Buffer.from('admin');
const plain = (payloadType: number, payload: Buffer) =>
  encodeSession20({ payloadType, sessionId: 0, seq: 0, payload });

/** One setup from a fresh client port, as every ipmitool run is; closed at the end. */
async function setup(port: number): Promise<void> {
  const peer = { address: '127.0.0.1', port };
  const exchange = async (frame: Buffer) => {
    const reply = await bmc.receive(frame, peer);
    if (reply === undefined) throw new Error('the BMC did not answer');
    return decodeSession20(reply).payload;
  };
  const consoleSid = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
  const tag = consoleSid & 0x3f;
  const open = decodeOpenSessionResponse(
    await exchange(plain(PayloadType.OpenSessionRequest, encodeOpenSessionRequest(tag, consoleSid))),
  );
  const x: RakpExchange = {
    consoleSid,
    managedSid: open.managedSid,
    rm: randomBytes(16),
    rc: Buffer.alloc(0),
    guid: Buffer.alloc(0),
    role: ROLE_ADMIN_NAME_ONLY,
    user,
  };
  const rakp2 = decodeRakp2(
    await exchange(plain(PayloadType.Rakp1, encodeRakp1(tag, x.managedSid, x.rm, x.role, user))),
  );
  x.rc = rakp2.rc;
  x.guid = rakp2.guid;
  const keys = deriveKeys(password, x);
  const rakp4 = decodeRakp4(
    await exchange(plain(PayloadType.Rakp3, encodeRakp3(tag, 0, x.managedSid, rakp3AuthCode(password, x)))),
  );
  if (rakp4.status !== 0) throw new Error(`RAKP 4 status ${rakp4.status}`);
  // Close Session (IPMI v2.0 section 22.19, App 3Ch): the session's own ID.
  const id = Buffer.alloc(4);
  id.writeUInt32LE(x.managedSid);
  const close = encodeRequest({ netFn: 0x06, cmd: 0x3c, rqSeq: 1, data: id });
  await exchange(
    encodeSession20(
      {
        payloadType: PayloadType.Ipmi,
        encrypted: true,
        sessionId: x.managedSid,
        seq: 1,
        payload: encryptPayload(keys.aesKey, randomBytes(16), close),
      },
      (signed) => integrity(keys.k1, signed),
    ),
  );
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
