export { SimConsole } from './console.ts';
export { type DiskImage, VirtualDisk } from './disk.ts';
export { SimFleet, type SimFleetOptions, simUuid } from './fleet.ts';
export {
  type RamdiskBoot,
  SimMachine,
  type SimMachineOptions,
  type SimMachineSnapshot,
  type SimRunState,
} from './machine.ts';
export {
  createSimBootNetwork,
  type SimBootNetwork,
  type SimBootNetworkOptions,
  type SimDhcpOffer,
} from './network.ts';
export { DEFAULT_TIMINGS, type SimTimings } from './timing.ts';
