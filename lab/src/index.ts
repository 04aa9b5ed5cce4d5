export {
  type BmcFleet,
  type BmcServeOptions,
  expandAddresses,
  type ServedNode,
  serveBmcs,
} from './bmc-serve.ts';
export { runDemo } from './demo.ts';
export { Lab, type LabNode, type LabOptions } from './lab.ts';
export { SIM_OS, SimHost } from './sim-host.ts';
