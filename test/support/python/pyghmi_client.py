"""Drives a BMC with pyghmi's IPMI client (the library behind OpenStack tooling).

usage: pyghmi_client.py PORT ACTION...   actions: power, on, off, reset, boot-pxe-persistent-uefi,
boot-disk, bootdev, info, guid.  Prints one JSON object per action.
"""
import json
import sys

from pyghmi.ipmi import command

port = int(sys.argv[1])
c = command.Command(bmc='127.0.0.1', userid='admin', password='password', port=port)
for action in sys.argv[2:]:
    if action == 'power':
        out = c.get_power()
    elif action in ('on', 'off', 'reset'):
        out = c.set_power(action, wait=action != 'reset')
    elif action == 'boot-pxe-persistent-uefi':
        out = c.set_bootdev('network', persist=True, uefiboot=True)
    elif action == 'boot-disk':
        out = c.set_bootdev('hd')
    elif action == 'bootdev':
        out = c.get_bootdev()
    elif action == 'info':
        out = {'raw': list(c.raw_command(netfn=6, command=1)['data'])}
    elif action == 'guid':
        out = {'guid': c.get_system_guid()}
    else:
        raise SystemExit('unknown action ' + action)
    print(json.dumps({action: out}), flush=True)
c.ipmi_session.logout()
