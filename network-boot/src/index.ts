export {
  type BootAnswer,
  type BootDecision,
  type ClientKind,
  classifyClient,
  clientArchFor,
  DEFAULT_FIRMWARE_FILES,
  type DhcpClientRequest,
  decideBoot,
  type MacOverride,
  type PxePolicy,
} from './dhcp/decide.ts';
export { LeasePool, type LeasePoolOptions } from './dhcp/leases.ts';
export { ClientArch, type Firmware, firmwareOfArch, IPXE_NO_PXEDHCP, normalizeMac } from './dhcp/options.ts';
export { assertDhcpLibPatched, type DhcpEvent, DhcpServer, type DhcpServerOptions } from './dhcp/server.ts';
export {
  type DirectoryFetcherOptions,
  directoryFetcher,
  type FetchRecord,
  type NetworkFetcherOptions,
  networkFetcher,
} from './fetchers.ts';
export {
  type BootFetchEvent,
  type BootHttpDeps,
  buildApp as buildBootHttpApp,
  parseRange,
  startBootHttp,
} from './http.ts';
export {
  defaultSettings as ipxeSettings,
  type FetchOutcome,
  type IpxeFetcher,
  type IpxeImage,
  type IpxeOutcome,
  type IpxeResult,
  parseKernelArgs,
  runIpxe,
} from './ipxe/script.ts';
export {
  IRONIC_BOOT_IPXE,
  type IronicNodeBoot,
  ironicNodeConfig,
  removeIronicBootFiles,
  writeIronicBootFiles,
} from './ironic-layout.ts';
export { dnsmasqRaArgs, RouterAdvertiser, type RouterAdvertiserOptions } from './ra.ts';
export {
  type NetworkBoot,
  type NetworkBootEvent,
  type NetworkBootOptions,
  startNetworkBoot,
} from './services.ts';
export { tftpGet } from './tftp/client.ts';
export { decodeTftp, encodedLengthTftp, encodeTftp, type TftpPacket } from './tftp/packet.ts';
export { type TftpEvent, TftpServer, type TftpServerOptions } from './tftp/server.ts';
