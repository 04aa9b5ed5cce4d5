export { type InspectorConfOptions, type IronicConfOptions, inspectorConf, ironicConf } from './config.ts';
export { type RealIronicNeeds, startRealIronicForLab } from './for-lab.ts';
export {
  checkRealIronicHost,
  freePort,
  hasRealInspector,
  hasRealIronic,
  installRealIronic,
  ipxeKernelLine,
  LAB_PROVISIONING_ADDRESS,
  provisioningToLocal,
  type RealIronic,
  type RealIronicOptions,
  type RealIronicRunfile,
  RUNFILE as REAL_IRONIC_RUNFILE,
  readRealIronic,
  startRealIronic,
  stopRealIronic,
} from './real-ironic.ts';
