#!/usr/bin/env node
// A stand-in for qemu-system-x86_64 (and `qemu-img create`) for the qemu backend's unit tests: it
// reads the same command line, connects to the QMP and serial sockets the lab listens on, and answers
// QMP like QEMU 7.2 does for the commands the backend sends. It boots nothing; it prints the boot order
// it would hand the firmware. Behaviour knobs come from FAKE_QEMU (JSON):
//   {"acpi": true}        system_powerdown powers the "guest" off (SHUTDOWN guest:true, exit 0)
//   {"ignoreQuit": true}  quit is acknowledged but the process keeps running
//   {"failStart": "msg"}  print msg on stderr and exit 1 before connecting
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';

const argv = process.argv.slice(2);
if (argv[0] === 'create') {
  writeFileSync(argv.at(-2), '');
  process.exit(0);
}
const knobs = JSON.parse(process.env.FAKE_QEMU ?? '{}');
if (knobs.failStart) {
  process.stderr.write(`qemu-system-x86_64: ${knobs.failStart}\n`);
  process.exit(1);
}

const chardevs = new Map();
const bootindex = new Map();
for (let i = 0; i < argv.length - 1; i++) {
  const v = argv[i + 1];
  if (argv[i] === '-chardev') {
    const opts = Object.fromEntries(
      v
        .split(',')
        .slice(1)
        .map((kv) => kv.split('=')),
    );
    chardevs.set(opts.id, opts.path);
  }
  if (argv[i] === '-device') {
    const opts = Object.fromEntries(
      v
        .split(',')
        .slice(1)
        .map((kv) => kv.split('=')),
    );
    if (opts.bootindex !== undefined) bootindex.set(opts.id, Number(opts.bootindex));
  }
  // A stream netdev client connects to the lab's socket at startup, as QEMU does.
  if (argv[i] === '-netdev' && v.startsWith('stream,')) {
    const path = /addr\.path=([^,]+)/.exec(v)?.[1];
    if (path !== undefined) connect(path).on('error', () => {});
  }
}

const serial = connect(chardevs.get('serial0'));
const qmp = connect(chardevs.get('qmp'));
const bootLine = () =>
  `boot: ${[...bootindex]
    .filter(([, n]) => n >= 0)
    .sort((a, b) => a[1] - b[1])
    .map(([id]) => id)
    .join(' ')}\r\n`;
const send = (o) => qmp.write(`${JSON.stringify(o)}\r\n`);
const event = (name, data) =>
  send({ timestamp: { seconds: 0, microseconds: 0 }, event: name, ...(data ? { data } : {}) });
serial.write(`SeaBIOS (fake)\r\n${bootLine()}`);
send({
  QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'fake' }, capabilities: ['oob'] },
});

let buf = '';
qmp.on('data', (chunk) => {
  buf += chunk;
  let nl = buf.indexOf('\n');
  while (nl >= 0) {
    const cmd = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    handle(cmd);
    nl = buf.indexOf('\n');
  }
});
qmp.on('close', () => process.exit(0));

function handle({ execute, arguments: args = {}, id }) {
  const ok = (value = {}) => send({ return: value, id });
  const fail = (desc) => send({ error: { class: 'GenericError', desc }, id });
  const dev = typeof args.path === 'string' ? args.path.replace('/machine/peripheral/', '') : '';
  switch (execute) {
    case 'qmp_capabilities':
      return ok();
    case 'inject-nmi':
      ok();
      serial.write('Kernel panic - not syncing: NMI: Not continuing\r\n');
      return;
    case 'query-status':
      return ok({ status: 'running', running: true });
    case 'qom-get':
      return ok(bootindex.get(dev) ?? -1);
    case 'qom-set':
      // softmmu/bootdevice.c check_boot_index: a bootindex another device holds is refused
      if (args.value >= 0 && [...bootindex].some(([d, n]) => n === args.value && d !== dev))
        return fail(`The bootindex ${args.value} has already been used`);
      if (args.value >= 0 && bootindex.get(dev) === args.value)
        return fail(`The bootindex ${args.value} has already been used`);
      bootindex.set(dev, args.value);
      return ok();
    case 'system_reset':
      ok();
      event('RESET', { guest: false, reason: 'host-qmp-system-reset' });
      serial.write(`SeaBIOS (fake)\r\n${bootLine()}`);
      return;
    case 'system_powerdown':
      ok();
      event('POWERDOWN');
      if (knobs.acpi) {
        event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
        setTimeout(() => process.exit(0), 20);
      }
      return;
    case 'quit':
      ok();
      if (!knobs.ignoreQuit) {
        event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
        setTimeout(() => process.exit(0), 5);
      }
      return;
    default:
      return send({
        error: { class: 'CommandNotFound', desc: `The command ${execute} has not been found` },
        id,
      });
  }
}
