#!/usr/bin/python3
"""Drives a Redfish service with Debian's python3-sushy, the client Ironic's redfish driver uses.

One process per test scenario: it reads one JSON request per line on stdin and answers one JSON
line on stdout ({"ok": true, "result": ...} or {"ok": false, "error": ..., "type": ...}), so the
test can check the machine between calls. The operations do what Ironic 21.4's redfish power,
management, inspect, bios and virtual-media boot interfaces do through sushy.
"""
import json
import logging
import os
import sys
import warnings

import sushy
from sushy import auth as sushy_auth

warnings.filterwarnings('ignore')  # urllib3 warns about unverified HTTPS
# sushy's warnings (a retried ETag, missing allowable values, ...) go to stderr for the test to check.
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format='%(levelname)s %(name)s: %(message)s')

UNITS_GI = 1024 ** 3
CPU_ARCH_MAP = {  # ironic/drivers/modules/redfish/inspect.py
    sushy.PROCESSOR_ARCH_x86: 'x86_64',
    sushy.PROCESSOR_ARCH_IA_64: 'ia64',
    sushy.PROCESSOR_ARCH_ARM: 'arm',
    sushy.PROCESSOR_ARCH_MIPS: 'mips',
    sushy.PROCESSOR_ARCH_OEM: 'oem',
}

state = {'root': None, 'system': None}


def enum_value(v):
    return None if v is None else getattr(v, 'value', v)


def op_connect(url, username, password, auth='auto', verify=False):
    # requests lets these variables override the session's verify setting, which is how sushy
    # passes Ironic's redfish_verify_ca (psf/requests#3829).
    for var in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        os.environ.pop(var, None)
    kinds = {'auto': sushy_auth.SessionOrBasicAuth, 'session': sushy_auth.SessionAuth,
             'basic': sushy_auth.BasicAuth}
    root = sushy.Sushy(url, auth=kinds[auth](username=username, password=password), verify=verify)
    state['root'] = root
    a = root._auth
    session = a.get_session_key() is not None if isinstance(a, sushy_auth.SessionAuth) else False
    return {'redfish_version': root.redfish_version, 'session': session,
            'session_uri': a.get_session_resource_id() if session else None}


def system(system_id=None):
    s = state['root'].get_system(system_id)
    state['system'] = s
    return s


def op_get_system(system_id):
    s = system(system_id)
    return {
        'identity': s.identity, 'uuid': s.uuid, 'name': s.name,
        'power_state': enum_value(s.power_state),
        'boot': {'target': enum_value(s.boot.target), 'enabled': enum_value(s.boot.enabled),
                 'mode': enum_value(s.boot.mode)},
        'allowed_boot': sorted(enum_value(v) for v in s.get_allowed_system_boot_source_values()),
        'allowed_reset': sorted(enum_value(v) for v in s.get_allowed_reset_system_values()),
    }


def op_power_state(system_id):
    return enum_value(system(system_id).power_state)


def op_reset(system_id, value):
    system(system_id).reset_system(sushy.ResetType(value))
    return enum_value(system(system_id).power_state)


def op_set_boot(system_id, target=None, enabled=None, mode=None):
    s = system(system_id)
    s.set_system_boot_options(
        target=None if target is None else sushy.BootSource(target),
        enabled=None if enabled is None else sushy.BootSourceOverrideEnabled(enabled),
        mode=None if mode is None else sushy.BootSourceOverrideMode(mode))
    s = system(system_id)
    return {'target': enum_value(s.boot.target), 'enabled': enum_value(s.boot.enabled),
            'mode': enum_value(s.boot.mode)}


def first_big(sizes):
    return ([x for x in sizes if x >= 4 * UNITS_GI] or [0])[0]


def op_inspect(system_id):
    """RedfishInspect.inspect_hardware and _detect_local_gb, minus the node bookkeeping."""
    s = system(system_id)
    props = {}
    if s.memory_summary and s.memory_summary.size_gib:
        props['memory_mb'] = s.memory_summary.size_gib * 1024
    cpus, arch = s.processors.summary
    props['cpus'] = cpus
    props['cpu_arch'] = CPU_ARCH_MAP.get(arch)
    simple = first_big(s.simple_storage.disks_sizes_bytes) if s.simple_storage else 0
    storage = first_big(s.storage.volumes_sizes_bytes) if s.storage.volumes_sizes_bytes else 0
    if not storage:
        storage = first_big(s.storage.drives_sizes_bytes)
    local = min(simple, storage) if simple and storage else max(simple, storage)
    props['local_gb'] = max(0, int(local / UNITS_GI - 1))
    props['boot_mode'] = enum_value(s.boot.mode)
    props['macs'] = {mac: enum_value(st) for mac, st in s.ethernet_interfaces.summary.items()}
    props['simple_storage_max'] = s.simple_storage.max_size_bytes
    props['storage_drives'] = s.storage.drives_sizes_bytes
    props['storage_volumes'] = s.storage.volumes_sizes_bytes
    return props


def op_bios(system_id):
    b = system(system_id).bios
    return {'attributes': dict(b.attributes), 'pending': dict(b.pending_attributes)}


def op_bios_set(system_id, attributes):
    b = system(system_id).bios
    b.set_attributes(attributes)
    return dict(b.pending_attributes)


def op_secure_boot(system_id, enabled=None):
    """RedfishManagement.get/set_secure_boot_state."""
    sb = system(system_id).secure_boot
    if enabled is not None:
        sb.set_enabled(enabled)
        sb.refresh()
    return {'enabled': sb.enabled, 'current_boot': enum_value(sb.current_boot),
            'mode': enum_value(sb.mode)}


def cd_media(system_id):
    """As ironic's redfish boot `_insert_vmedia`: the first CD/DVD device of the system's managers."""
    for manager in system(system_id).managers:
        for v in manager.virtual_media.get_members():
            types = {enum_value(t) for t in v.media_types}
            if types & {'CD', 'DVD'}:
                return v
    raise RuntimeError('no CD virtual media device')


def media_view(v):
    v.refresh()
    return {'identity': v.identity, 'image': v.image, 'image_name': v.image_name,
            'inserted': v.inserted, 'write_protected': v.write_protected}


def op_vmedia_insert(system_id, image):
    v = cd_media(system_id)
    v.insert_media(image, inserted=True, write_protected=True)
    return media_view(v)


def op_vmedia_eject(system_id):
    v = cd_media(system_id)
    v.eject_media()
    return media_view(v)


def op_chassis_power(system_id):
    ch = system(system_id).chassis[0]
    return {'power_state': enum_value(ch.power_state),
            'watts': ch.power.power_supplies[0].last_power_output_watts,
            'fans': [f.reading for f in ch.thermal.fans],
            'temps': [t.reading_celsius for t in ch.thermal.temperatures]}


def op_close():
    # Deleting the sushy object closes its session (DELETE on the session URI).
    root = state['root']
    state['root'] = state['system'] = None
    root._auth.close()
    return True


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith('op_')}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            result = OPS[req.pop('op')](**req)
            out = {'ok': True, 'result': result}
        except Exception as e:  # noqa: BLE001 - every failure goes back to the test
            out = {'ok': False, 'type': type(e).__name__, 'error': str(e),
                   'status': getattr(e, 'status_code', None)}
        sys.stdout.write(json.dumps(out) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
