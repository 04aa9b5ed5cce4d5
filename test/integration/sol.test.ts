/**
 * Serial-over-LAN with the real ipmitool: `sol activate` shows the machine's console live and
 * types into it, a second console is refused while the payload is held, the session survives a
 * power cycle, and `~.` leaves. The machine is an in-memory one with the sim backend's serial
 * console (which echoes input), answering each line it receives.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bmc, BmcEndpoint, createBmcState } from '../../bmc-emulator/src/index.ts';
import { defaultMachineSpec, InMemoryMachine, SimConsole, SimMachine } from '../../vm-fleet/src/index.ts';
import { hasCommand, ipmitool } from '../support/bmc.ts';

class ConsoleMachine extends InMemoryMachine {
  readonly serial = new SimConsole();
  constructor() {
    super(defaultMachineSpec(0));
    this.serial.onInputLine = (line) => this.serial.println(`answer: ${line.toUpperCase()}`);
    this.subscribe((e) => {
      if (e.type === 'power') this.serial.setPowered(e.state === 'on');
      if (e.type === 'post') this.serial.println('BIOS POST: memory test');
    });
  }
}

/** Collects a process's output and waits for patterns in it. */
function watch(stream: NodeJS.ReadableStream) {
  let text = '';
  const waiters = new Set<() => void>();
  stream.on('data', (b: Buffer) => {
    text += b.toString('latin1');
    for (const w of waiters) w();
  });
  return {
    text: () => text,
    waitFor: (re: RegExp, ms = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!re.test(text)) return;
          waiters.delete(check);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${re} not seen; got: ${JSON.stringify(text.slice(-400))}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

describe.skipIf(!hasCommand('ipmitool') || !hasCommand('script'))('Serial-over-LAN with ipmitool', () => {
  let machine: ConsoleMachine;
  let bmc: Bmc;
  let endpoint: BmcEndpoint;
  let port: number;
  beforeAll(async () => {
    machine = new ConsoleMachine();
    bmc = new Bmc({ state: createBmcState({ name: 'node-0' }), machine });
    endpoint = await BmcEndpoint.listen(bmc, { address: '127.0.0.1', port: 0 });
    port = endpoint.address.port;
    await machine.powerOn();
  });
  afterAll(async () => {
    await endpoint.close();
  });

  it('sol activate: type a line, read the answer, a second console is refused, survive a power cycle, ~. leaves', async () => {
    // Through a pty (util-linux `script`), as a user's terminal: ipmitool puts it in raw mode and
    // its output is not block-buffered.
    const cmd = `ipmitool -I lanplus -H 127.0.0.1 -p ${port} -U admin -P password sol activate`;
    const sol = execa('script', ['-qfec', cmd, '/dev/null'], {
      stdin: 'pipe',
      reject: false,
      timeout: 30_000,
      all: true,
    });
    const out = watch(sol.all as NodeJS.ReadableStream);
    try {
      await out.waitFor(/SOL Session operational/);
      expect((await ipmitool(port, ['raw', '0x06', '0x4a', '0x01'])).out.trim()).toBe('01 01 00');
      // Get Payload Instance Info names the owning session and serial port 1 (FreeIPMI asks).
      const instance = (await ipmitool(port, ['raw', '0x06', '0x4b', '0x01', '0x01'])).out
        .trim()
        .split(/\s+/);
      expect(instance.slice(0, 4)).not.toEqual(['00', '00', '00', '00']);
      expect(instance[4]).toBe('01');

      sol.stdin?.write('hello bmc\r');
      await out.waitFor(/answer: HELLO BMC/);
      expect(machine.serial.text()).toContain('hello bmc');

      // Output from the machine reaches the console unprompted.
      machine.serial.println('kernel: eth0 link up');
      await out.waitFor(/kernel: eth0 link up/);

      const second = await ipmitool(port, ['sol', 'activate']);
      expect(second.out).toMatch(/SOL payload already active on another session/);

      expect((await ipmitool(port, ['power', 'cycle'])).ok).toBe(true);
      await out.waitFor(/BIOS POST: memory test/);
      sol.stdin?.write('still there\r');
      await out.waitFor(/answer: STILL THERE/);

      sol.stdin?.write('\r~.');
      const r = await sol;
      expect(r.exitCode).toBe(0);
      expect(out.text()).toContain('terminated ipmitool');
    } finally {
      sol.kill();
    }
    // ipmitool deactivated the payload on leaving.
    expect((await ipmitool(port, ['raw', '0x06', '0x4a', '0x01'])).out.trim()).toBe('01 00 00');
  });

  it('Get Channel Payload Support: IPMI and SOL, the session-setup payloads', async () => {
    expect((await ipmitool(port, ['raw', '0x06', '0x4e', '0x01'])).out.trim()).toBe(
      '03 00 3f 00 00 00 00 00',
    );
  });

  it('sol info / set: parameters are kept in the BMC state', async () => {
    expect((await ipmitool(port, ['sol', 'set', 'character-send-threshold', '64', '1'])).ok).toBe(true);
    expect(bmc.state.hw.sol.sendThreshold).toBe(64);
    expect((await ipmitool(port, ['sol', 'info', '1'])).out).toMatch(/Character Send Threshold\s+: 64/);
  });
});

describe.skipIf(!hasCommand('ipmitool') || !hasCommand('script'))(
  'Serial-over-LAN on the sim backend',
  () => {
    it('shows the boot log of a power-on live and echoes what is typed at the running machine', async () => {
      const machine = new SimMachine({ spec: defaultMachineSpec(1), timeScale: 0.01, seed: 1 });
      const bmc = new Bmc({ state: createBmcState({ name: 'node-1' }), machine });
      const endpoint = await BmcEndpoint.listen(bmc, { address: '127.0.0.1', port: 0 });
      const port = endpoint.address.port;
      const cmd = `ipmitool -I lanplus -H 127.0.0.1 -p ${port} -U admin -P password sol activate`;
      const sol = execa('script', ['-qfec', cmd, '/dev/null'], {
        stdin: 'pipe',
        reject: false,
        timeout: 30_000,
        all: true,
      });
      const out = watch(sol.all as NodeJS.ReadableStream);
      try {
        await out.waitFor(/SOL Session operational/);
        expect((await ipmitool(port, ['power', 'on'])).ok).toBe(true);
        await out.waitFor(/BIOS POST: memory test/);
        await out.waitFor(/No bootable device|Booting from/);
        sol.stdin?.write('typed at the console');
        await out.waitFor(/typed at the console/);
        sol.stdin?.write('\r~.');
        expect((await sol).exitCode).toBe(0);
      } finally {
        sol.kill();
        await machine.powerOff();
        await endpoint.close();
      }
    });
  },
);
