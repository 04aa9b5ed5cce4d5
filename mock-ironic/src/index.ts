export { type App, type AppDeps, buildApp } from './api/app.ts';
export { ApiError, errorBody } from './api/errors.ts';
export { MAX_VERSION_STRING, MIN_VERSION_STRING } from './api/versions.ts';
export type { AgentCommand } from './conductor/agent-client.ts';
export { BOOT_IPXE, type BootFilesConfig, renderNodeConfig } from './conductor/boot-files.ts';
export {
  Conductor,
  type ConductorConfig,
  type ConductorStats,
  defaultConductorConfig,
} from './conductor/conductor.ts';
export {
  type IpmiCall,
  type IpmiStats,
  IpmiTool,
  ipmitoolArgs,
  parseIpmiDriverInfo,
} from './conductor/ipmitool.ts';
export { realTimers, type Timers } from './conductor/timers.ts';
export { MockIronic, type MockIronicOptions, serveMockIronic } from './server.ts';
export { eventsFrom, isActionable, nextState, TRANSITIONS, type Transition } from './state-machine.ts';
export { PowerState, ProvisionState } from './states.ts';
export type { NodeRecord, PortRecord } from './store/records.ts';
export { IronicStore } from './store/store.ts';
