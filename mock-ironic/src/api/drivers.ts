import type { InterfaceField } from '../store/records.ts';

/**
 * The hardware types the mock runs, with the interfaces each supports, first = default, restricted to
 * what the reference ironic.conf enables (enabled_*_interfaces). `ipmi` drives BMCs with ipmitool,
 * `redfish` over Redfish (HTTP, sushy-tools layout);
 * `fake-hardware` changes states instantly without touching any machine.
 */
export const HARDWARE_TYPES: Record<string, Partial<Record<InterfaceField, readonly string[]>>> = {
  ipmi: {
    bios_interface: ['no-bios'],
    boot_interface: ['ipxe', 'pxe'],
    console_interface: ['no-console'],
    deploy_interface: ['direct', 'ramdisk', 'custom-agent'],
    inspect_interface: ['no-inspect', 'inspector'],
    management_interface: ['ipmitool', 'noop'],
    network_interface: ['noop', 'flat'],
    power_interface: ['ipmitool'],
    raid_interface: ['no-raid', 'agent'],
    rescue_interface: ['no-rescue'],
    storage_interface: ['noop'],
    vendor_interface: ['ipmitool', 'no-vendor'],
  },
  redfish: {
    bios_interface: ['no-bios'],
    boot_interface: ['ipxe', 'pxe'],
    console_interface: ['no-console'],
    deploy_interface: ['direct', 'ramdisk', 'custom-agent'],
    inspect_interface: ['no-inspect', 'redfish', 'inspector'],
    management_interface: ['redfish', 'noop'],
    network_interface: ['noop', 'flat'],
    power_interface: ['redfish'],
    raid_interface: ['no-raid', 'agent'],
    rescue_interface: ['no-rescue'],
    storage_interface: ['noop'],
    vendor_interface: ['no-vendor'],
  },
  'fake-hardware': {
    bios_interface: ['fake', 'no-bios'],
    boot_interface: ['fake', 'pxe', 'ipxe'],
    console_interface: ['fake', 'no-console'],
    deploy_interface: ['fake', 'direct', 'ramdisk', 'custom-agent'],
    inspect_interface: ['fake', 'no-inspect'],
    management_interface: ['fake', 'noop'],
    network_interface: ['noop', 'flat'],
    power_interface: ['fake'],
    raid_interface: ['fake', 'no-raid', 'agent'],
    rescue_interface: ['fake', 'no-rescue'],
    storage_interface: ['fake', 'noop'],
    vendor_interface: ['fake', 'no-vendor'],
  },
};
