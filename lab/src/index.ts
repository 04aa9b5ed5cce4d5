export { buildLabApi, type FaultsBody, nodeView } from './api.ts';
export {
  type BmcFleet,
  type BmcServeOptions,
  expandAddresses,
  type ServedNode,
  serveBmcs,
} from './bmc-serve.ts';
export { type LabConfig, parseLabConfig } from './config.ts';
export { runDemo } from './demo.ts';
export { Lab, type LabImages, type LabNode, type LabOptions } from './lab.ts';
export {
  checkRealIronicHost,
  hasRealInspector,
  hasRealIronic,
  installRealIronic,
  ipxeKernelLine,
  LAB_PROVISIONING_ADDRESS,
  provisioningToLocal,
  type RealIronic,
  type RealIronicNeeds,
  type RealIronicOptions,
  readRealIronic,
  startRealIronic,
  startRealIronicForLab,
  stopRealIronic,
} from './real-ironic/index.ts';
export { type RunLabOptions, runInLab } from './run.ts';
export { SIM_OS, SimHost } from './sim-host.ts';
export { Trace, type TraceEvent, type TraceKind } from './trace.ts';
