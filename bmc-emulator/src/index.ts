export { Bmc, type BmcOptions, LAN_CHANNEL } from './ipmi/bmc.ts';
export { Cc, IpmiError } from './ipmi/commands/completion-codes.ts';
export { CommandRegistry, type CommandTrace } from './ipmi/commands/registry.ts';
export { type CommandContext, type CommandSpec, NetFn, Priv } from './ipmi/commands/types.ts';
export { CIPHER_SUITES, DEFAULT_CIPHER_SUITES } from './ipmi/crypto/cipher-suites.ts';
export { restoreSel, type SelLog, type SelSnapshot, snapshotSel } from './ipmi/model/sel.ts';
export type { HardwareSnapshot } from './ipmi/model/state.ts';
export {
  type BmcSnapshot,
  type BmcState,
  type BmcStateOptions,
  createBmcState,
  type DeviceProfile,
  guidFromName,
  restoreBmcState,
  snapshotBmcState,
  type UserRecord,
  VENDOR_PROFILES,
  watchBmcState,
} from './ipmi/state.ts';
export { BmcEndpoint, type BmcFaults, type ListenOptions, NO_FAULTS } from './ipmi/udp-server.ts';
export { bindUdp, type DatagramHandler, type UdpKind, type UdpSocket, udpKind } from './ipmi/udp-socket.ts';
export * from './redfish/index.ts';
