"""A tiny real BMC for mock-ironic's tests: pyghmi's Bmc (IPMI 2.0, cipher suite 3) with a power
state and a boot device. Run it with /usr/bin/python3 (Debian's python3-pyghmi):

    fake_bmc.py <port or 0> <user> <password>

It prints one JSON line per event on stdout: {"event": "ready", "port": N} once listening, then
{"event": "power", "state": "on"|"off", "bootdev": ...} and {"event": "bootdev", ...}. A line
"off" on stdin powers the machine off from the inside (what an OS does on `standby.power_off`).
"""
import json
import sys
import threading

import pyghmi.ipmi.bmc as bmc


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + '\n')
    sys.stdout.flush()


class FakeBmc(bmc.Bmc):
    def __init__(self, authdata, port):
        super().__init__(authdata, port=port, address='127.0.0.1')
        self.power = 'off'
        self.bootdev = 'default'

    def get_boot_device(self):
        return self.bootdev

    def set_boot_device(self, bootdevice):
        self.bootdev = bootdevice
        emit(event='bootdev', bootdev=bootdevice)

    def get_power_state(self):
        return self.power

    def power_on(self):
        self.power = 'on'
        emit(event='power', state='on', bootdev=self.bootdev)

    def power_off(self):
        self.power = 'off'
        emit(event='power', state='off', bootdev=self.bootdev)

    def power_shutdown(self):
        self.power_off()

    def power_reset(self):
        emit(event='power', state='reset', bootdev=self.bootdev)

    def cold_reset(self):
        pass


def main():
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    b = FakeBmc({user: password}, port)

    def inside():
        for line in sys.stdin:
            if line.strip() == 'off' and b.power == 'on':
                b.power_off()

    threading.Thread(target=inside, daemon=True).start()
    emit(event='ready', port=b.serversocket.getsockname()[1])
    b.listen()


if __name__ == '__main__':
    main()
