// The virtual BMC's own share of a request, without sockets: CPU per Bmc.receive() of an encrypted
// cipher-suite-3 Get Chassis Status (verify HMAC-SHA1-96, decrypt, dispatch, encrypt, sign), from
// request frames built beforehand by the load generator's codec.
//
//   node --import tsx bench/handle.ts [requests per round, default 40000] [rounds, default 5]
//
// `npm run bench` measures the whole server (sockets included) against the anchors; this isolates
// what bmlab's code costs per request, for profiling (add `--cpu-prof`) and before/after comparisons.
// It also shows what the hardware model costs the power/boot path: Get Chassis Status and Set System
// Boot Options before and after a round of SDR, FRU, SEL and sensor reads that ends with a full SEL.
import { Bmc } from '../bmc-emulator/src/ipmi/bmc.ts';
import { createBmcState } from '../bmc-emulator/src/ipmi/state.ts';
import { defaultMachineSpec, InMemoryMachine } from '../vm-fleet/src/index.ts';
import { openSession, sessionFrame } from './src/loadgen/in-process.ts';
import { decryptPayload } from './src/loadgen/rakp.ts';
import { decodeResponse, decodeSession20, encodeRequest } from './src/loadgen/wire.ts';

const perRound = Number(process.argv[2] ?? 40_000);
const rounds = Number(process.argv[3] ?? 5);

const bmc = new Bmc({
  state: createBmcState({ name: 'bench' }),
  machine: new InMemoryMachine(defaultMachineSpec(0)),
});
const peer = { address: '127.0.0.1', port: 40_000 };

const session = await openSession(bmc, peer, { user: 'admin', password: 'password' });
const keys = session.keys;

let seq = 0;
/** One encrypted, signed request frame of the next sequence number, built before any timing. */
const frame = (netFn: number, cmd: number, data?: Buffer) => {
  seq++;
  return sessionFrame(
    session,
    seq,
    encodeRequest({ netFn, cmd, rqSeq: seq & 0x3f, ...(data ? { data } : {}) }),
  );
};

/** Answers `frames` in one synchronous loop; CPU per request and the completion codes seen. */
async function run(frames: Buffer[]): Promise<{ us: number; cc: Map<number, number> }> {
  const cc = new Map<number, number>();
  const before = process.cpuUsage();
  const replies: Buffer[] = [];
  for (const f of frames) {
    // Handlers that read the machine may answer through a promise (counted with their CPU).
    const reply = await bmc.receive(f, peer);
    if (reply === undefined) throw new Error('a request went unanswered');
    replies.push(reply);
  }
  const used = process.cpuUsage(before);
  for (const r of replies.slice(-20)) {
    const c = decodeResponse(decryptPayload(keys.aesKey, decodeSession20(r).payload)).cc;
    cc.set(c, (cc.get(c) ?? 0) + 1);
  }
  return { us: (used.user + used.system) / frames.length, cc };
}

/** The median of `rounds` rounds of `make()` requests (fresh frames each round). */
async function measure(label: string, make: () => Buffer[]): Promise<number> {
  const per: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const r = await run(make());
    per.push(r.us);
    const codes = [...r.cc].map(([c, n]) => `${c.toString(16).padStart(2, '0')}h×${n}`).join(' ');
    console.log(`${label}, round ${round + 1}: ${r.us.toFixed(2)} µs CPU per request (last 20: cc ${codes})`);
  }
  return per.sort((a, b) => a - b)[Math.floor(per.length / 2)] as number;
}

/** One request answered outside any timing: its response data (completion code 00h required). */
function ask(netFn: number, cmd: number, data?: Buffer): Buffer {
  const reply = bmc.receive(frame(netFn, cmd, data), peer);
  if (reply === undefined || reply instanceof Promise) throw new Error('no synchronous answer');
  const res = decodeResponse(decryptPayload(keys.aesKey, decodeSession20(reply).payload));
  if (res.cc !== 0) throw new Error(`netFn ${netFn}h cmd ${cmd}h: cc ${res.cc.toString(16)}h`);
  return res.data;
}
// Set Session Privilege Level to Administrator (§22.18), as ipmitool does after activation.
ask(0x06, 0x3b, Buffer.from([0x04]));
// The SDR repository's record IDs, walked with Get SDR's "next record ID" (§33.12).
const sdrIds: number[] = [];
for (let id = 0; id !== 0xffff && sdrIds.length < 200; ) {
  sdrIds.push(id);
  id = ask(0x0a, 0x23, Buffer.from([0, 0, id & 0xff, id >> 8, 0, 5])).readUInt16LE(0);
}

const many = (make: () => Buffer) => () => Array.from({ length: perRound }, make);
const chassisStatus = many(() => frame(0x00, 0x01));
// Set System Boot Options, parameter 5 (IPMI v2.0 table 28-14): boot from PXE, next boot only.
const bootFlags = many(() => frame(0x00, 0x08, Buffer.from([0x05, 0x80, 0x04, 0, 0, 0])));

const statusBefore = await measure('Get Chassis Status', chassisStatus);
const bootBefore = await measure('Set System Boot Options', bootFlags);

// The hardware model's reads (Storage/Sensor netFns, IPMI v2.0 §33-35): whole SDR records, 16-byte
// FRU chunks, SEL entries, sensor readings; then Add SEL Entry until the SEL is full.
const sdr = (id: number) => frame(0x0a, 0x23, Buffer.from([0, 0, id & 0xff, id >> 8, 0, 0xff]));
const fru = (offset: number) => frame(0x0a, 0x11, Buffer.from([0, offset & 0xff, offset >> 8, 16]));
const selEntry = () => frame(0x0a, 0x43, Buffer.from([0, 0, 0, 0, 0, 0xff]));
const reading = (n: number) => frame(0x04, 0x2d, Buffer.from([n]));
const addSel = () =>
  frame(0x0a, 0x44, Buffer.from([0, 0, 0x02, 0, 0, 0, 0, 0x20, 0, 0x04, 0x01, 0x30, 0x01, 0x57, 0, 0]));
let i = 0;
const reads = await measure('SDR/FRU/SEL/sensor reads', () =>
  Array.from({ length: perRound }, () => {
    i++;
    switch (i % 4) {
      case 0:
        return sdr(sdrIds[i % sdrIds.length] as number);
      case 1:
        return fru((i * 16) % 256);
      case 2:
        return selEntry();
      default:
        return reading(1 + (i % 8));
    }
  }),
);
const fill = await run(Array.from({ length: bmc.state.hw.sel.capacity + 10 }, addSel));
console.log(
  `Add SEL Entry ×${bmc.state.hw.sel.capacity + 10}: ${fill.us.toFixed(2)} µs each; SEL holds ${bmc.state.hw.sel.entries.length} of ${bmc.state.hw.sel.capacity} (last cc ${[...fill.cc.keys()].map((c) => `${c.toString(16)}h`).join(',')})`,
);

const statusAfter = await measure('Get Chassis Status, after the reads and with a full SEL', chassisStatus);
const bootAfter = await measure('Set System Boot Options, after the reads and with a full SEL', bootFlags);
const pct = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
console.log(
  `\nmedians (µs CPU per request): Get Chassis Status ${statusBefore.toFixed(2)} → ${statusAfter.toFixed(2)} (${pct(statusBefore, statusAfter)}), ` +
    `Set System Boot Options ${bootBefore.toFixed(2)} → ${bootAfter.toFixed(2)} (${pct(bootBefore, bootAfter)}); ` +
    `hardware reads ${reads.toFixed(2)}`,
);
