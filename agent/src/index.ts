export { Agent, type AgentEvent, type AgentOptions, agentVersion } from './agent.ts';
export { type AgentApi, buildApp } from './api.ts';
export { type AgentParams, bootifForm, normalizeMac, parseCmdline, readParams } from './cmdline.ts';
export { CommandResult, type CommandResultJson, type CommandStatus } from './commands.ts';
export { type FaultBody, IpaError, type SerializedError } from './errors.ts';
export type { AgentFaults } from './faults.ts';
export { cleanSteps, currentVersions, deploySteps, hardwareManager } from './hardware.ts';
export {
  type AgentHost,
  type EraseMode,
  type HostInventory,
  type HostSpec,
  type InventoryDisk,
  type InventoryInterface,
  inventoryFromSpec,
  MemoryHost,
  type MemoryHostEvents,
} from './host.ts';
export type { ImageOptions } from './image.ts';
export { collectInspectionData, guessRootDisk, type InspectionData } from './inspect.ts';
export { HeartbeatError, IronicClient, type LookupResponse } from './ironic-client.ts';
export {
  type GuestReport,
  inventoryFromGuestReport,
  parseGuestReport,
  RelayHost,
  type RelayHostOptions,
  relayDevice,
} from './relay-host.ts';
