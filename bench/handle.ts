// The virtual BMC's own share of a request, without sockets: CPU per Bmc.receive() of an encrypted
// cipher-suite-3 Get Chassis Status (verify HMAC-SHA1-96, decrypt, dispatch, encrypt, sign), from
// request frames built beforehand by the load generator's codec.
//
//   node --import tsx bench/handle.ts [requests per round, default 40000] [rounds, default 5]
//
// `npm run bench` measures the whole server (sockets included) against the anchors; this isolates
// what bmlab's code costs per request, for profiling (add `--cpu-prof`) and before/after comparisons.
import { randomBytes } from 'node:crypto';
import { Bmc } from '../bmc-emulator/src/ipmi/bmc.ts';
import { createBmcState } from '../bmc-emulator/src/ipmi/state.ts';
import { defaultMachineSpec, InMemoryMachine } from '../vm-fleet/src/index.ts';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decryptPayload,
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
import {
  decodeResponse,
  decodeSession20,
  encodeRequest,
  encodeSession20,
  PayloadType,
} from './src/loadgen/wire.ts';

const perRound = Number(process.argv[2] ?? 40_000);
const rounds = Number(process.argv[3] ?? 5);

const bmc = new Bmc({
  state: createBmcState({ name: 'bench' }),
  machine: new InMemoryMachine(defaultMachineSpec(0)),
});
const peer = { address: '127.0.0.1', port: 40_000 };

async function exchange(frame: Buffer): Promise<Buffer> {
  const reply = await bmc.receive(frame, peer);
  if (reply === undefined) throw new Error('the BMC did not answer the handshake');
  return reply;
}

// Open Session and RAKP 1-4 as the load generator's client does them, in process.
const password = Buffer.from('password');
const user = Buffer.from('admin');
const consoleSid = 0x0a0b0c0d;
const tag = 1;
const plain = (payloadType: number, payload: Buffer) =>
  encodeSession20({ payloadType, sessionId: 0, seq: 0, payload });
const open = decodeOpenSessionResponse(
  decodeSession20(
    await exchange(plain(PayloadType.OpenSessionRequest, encodeOpenSessionRequest(tag, consoleSid))),
  ).payload,
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
  decodeSession20(
    await exchange(plain(PayloadType.Rakp1, encodeRakp1(tag, x.managedSid, x.rm, x.role, user))),
  ).payload,
);
x.rc = rakp2.rc;
x.guid = rakp2.guid;
const keys = deriveKeys(password, x);
const rakp4 = decodeRakp4(
  decodeSession20(
    await exchange(plain(PayloadType.Rakp3, encodeRakp3(tag, 0, x.managedSid, rakp3AuthCode(password, x)))),
  ).payload,
);
if (rakp4.status !== 0) throw new Error(`RAKP 4 status ${rakp4.status}`);

const request = (seq: number) =>
  encodeSession20(
    {
      payloadType: PayloadType.Ipmi,
      encrypted: true,
      sessionId: x.managedSid,
      seq,
      payload: encryptPayload(
        keys.aesKey,
        randomBytes(16),
        encodeRequest({ netFn: 0x00, cmd: 0x01, rqSeq: seq & 0x3f }),
      ),
    },
    (signed) => integrity(keys.k1, signed),
  );
const frames = Array.from({ length: perRound * rounds + 1 }, (_, i) => request(i + 1));

let next = 0;
for (let round = 0; round < rounds; round++) {
  const before = process.cpuUsage();
  let answered = 0;
  for (let i = 0; i < perRound; i++) {
    const reply = bmc.receive(frames[next++] as Buffer, peer);
    if (reply instanceof Promise) throw new Error('Get Chassis Status went asynchronous');
    if (reply !== undefined) answered++;
  }
  const used = process.cpuUsage(before);
  console.log(
    `round ${round + 1}: ${answered}/${perRound} answered, ${((used.user + used.system) / perRound).toFixed(2)} µs CPU per request`,
  );
}
// The last reply decodes as a Get Chassis Status response: the loop measured real answers.
const last = decodeSession20((await bmc.receive(frames[next] as Buffer, peer)) as Buffer);
const res = decodeResponse(decryptPayload(keys.aesKey, last.payload));
console.log(
  `last reply: netFn ${res.netFn.toString(16)}h cmd ${res.cmd.toString(16)}h cc ${res.cc.toString(16)}h`,
);
