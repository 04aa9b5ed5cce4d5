export { kvmUsable, probeKvm } from './accel.ts';
export {
  buildQemuArgs,
  type QemuAccel,
  type QemuDiskSpec,
  type QemuFirmware,
  type QemuNetwork,
  type QemuNicSpec,
  type QemuSpec,
  qemuCommand,
} from './args.ts';
export { bootIndexes, bootIndexUpdates, effectiveBootOrder } from './boot-order.ts';
export { BridgeNetwork, type BridgeNetworkOptions } from './bridge.ts';
export {
  customizeDeployImage,
  DEFAULT_IMAGES_DIR,
  DEPLOY_IMAGE_BYTES,
  DEPLOYED_MARKER,
  ensureImages,
  GUEST_PROTOCOL,
  type GuestImages,
  type ImageManifest,
} from './images/images.ts';
export {
  AbnormalShutdown,
  OVMF_CODE,
  OVMF_VARS,
  QemuMachine,
  type QemuMachineOptions,
  type QemuRunState,
} from './machine.ts';
export {
  QmpClient,
  QmpCommandError,
  QmpDisconnectedError,
  type QmpEvent,
  type QmpState,
  type QmpTransport,
} from './qmp/client.ts';
export { SerialConsole, stripAnsi } from './serial.ts';
