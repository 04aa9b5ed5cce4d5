export { buildRedfishApp, type RedfishApp, type RedfishAppOptions, type TlsMaterial } from './app.ts';
export { BOOT_TARGETS, bootFromOverride } from './boot.ts';
export { RedfishError } from './errors.ts';
export { redfishOptionsFromBmc, sensorsFromBmc } from './from-ipmi.ts';
export { type ChassisSensor, defaultSensors, RESET_TYPES, type ResetType } from './power.ts';
export { type RedfishListenOptions, RedfishServer, selfSignedCertificate } from './server.ts';
export {
  type BiosValue,
  INDICATOR_LED,
  type IndicatorLed,
  MEDIA_SLOTS,
  type MediaSlot,
  type MediaState,
  NO_REDFISH_FAULTS,
  type RedfishFaults,
  RedfishSystem,
  type RedfishSystemEvent,
  type RedfishSystemOptions,
  type RedfishSystemSnapshot,
  SECURE_BOOT_RESET_KEYS,
  type SecureBootState,
  uuidFromName,
} from './system.ts';
