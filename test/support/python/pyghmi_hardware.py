"""Reads a BMC's hardware model with pyghmi's IPMI client, as OpenStack tooling does.

usage: pyghmi_hardware.py PORT ACTION...   actions: sensors, inventory, health.
Prints one JSON object per action.
"""
import json
import sys

from pyghmi.ipmi import command

port = int(sys.argv[1])
c = command.Command(bmc='127.0.0.1', userid='admin', password='password', port=port)


def reading(r):
    return {'name': r.name, 'value': r.value, 'units': r.units, 'health': r.health,
            'states': list(r.states), 'type': r.type}


for action in sys.argv[2:]:
    if action == 'sensors':
        out = [reading(r) for r in c.get_sensor_data()]
    elif action == 'inventory':
        out = {name: info for name, info in c.get_inventory()}
    elif action == 'health':
        h = c.get_health()
        out = {'health': h['health'], 'bad': [reading(r) for r in h['badreadings']]}
    else:
        raise SystemExit('unknown action ' + action)
    print(json.dumps({action: out}, default=str), flush=True)
c.ipmi_session.logout()
