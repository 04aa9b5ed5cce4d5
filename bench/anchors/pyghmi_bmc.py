#!/usr/bin/python3
"""pyghmi's Bmc (the engine of OpenStack VirtualBMC) as a benchmark anchor.

Serves N in-memory BMCs on 127.0.0.1, node i on UDP base-port + i, all in one
process: pyghmi's IpmiServer opens one socket per Bmc and its event loop
(Session.wait_for_rsp) selects over every socket of the process. VirtualBMC
itself forks one process per BMC; bench/run.ts measures both layouts.

Prints one line per node, then `ready`, like `bmlab bmc serve`.
Run with /usr/bin/python3 so Debian's python3-pyghmi is importable.
"""

import argparse
import socket
import sys

import pyghmi.ipmi.bmc as bmc


class BenchBmc(bmc.Bmc):
    """A machine with a power switch and a boot device, nothing else."""

    def __init__(self, authdata, port, address):
        super().__init__(authdata, port=port, address=address)
        self.powerstate = 'off'
        self.bootdevice = 'default'

    def get_power_state(self):
        return self.powerstate

    def power_off(self):
        self.powerstate = 'off'

    def power_on(self):
        self.powerstate = 'on'

    def power_reset(self):
        pass

    def power_shutdown(self):
        self.powerstate = 'off'

    def get_boot_device(self):
        return self.bootdevice

    def set_boot_device(self, bootdevice):
        self.bootdevice = bootdevice


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--address', default='127.0.0.1')
    parser.add_argument('--base-port', type=int, default=6230)
    parser.add_argument('--nodes', type=int, default=1)
    parser.add_argument('--user', default='admin')
    parser.add_argument('--password', default='password')
    args = parser.parse_args()

    authdata = {args.user: args.password}
    bmcs = []
    for i in range(args.nodes):
        port = args.base_port + i
        bmcs.append(BenchBmc(authdata, port=port, address=args.address))
        print(f'node-{i} {args.address}:{port}')
    # pyghmi's io thread is already blocked in select() over the sockets that
    # existed when the first Bmc started it; a datagram shorter than 4 bytes
    # (which pyghmi discards) wakes it so the next select() watches them all.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
        waker.sendto(b'\x01', (args.address, args.base_port))
    print('ready', flush=True)
    # listen() loops forever over every socket pyghmi has opened.
    bmcs[0].listen(timeout=3600)


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
