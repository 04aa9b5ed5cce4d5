/**
 * Completion codes (IPMI v2.0 table 5-2, generic codes) and the typed error handlers throw to
 * return one. Only the dispatcher turns outcomes into completion codes.
 */
import { BmlabError } from '../../../../common/src/index.ts';

export const Cc = {
  Ok: 0x00,
  NodeBusy: 0xc0,
  InvalidCommand: 0xc1,
  InvalidForLun: 0xc2,
  Timeout: 0xc3,
  OutOfSpace: 0xc4,
  ReservationCancelled: 0xc5,
  RequestTruncated: 0xc6,
  RequestLengthInvalid: 0xc7,
  RequestFieldLengthExceeded: 0xc8,
  ParameterOutOfRange: 0xc9,
  CannotReturnRequestedBytes: 0xca,
  NotPresent: 0xcb,
  InvalidDataField: 0xcc,
  IllegalForSensorOrRecord: 0xcd,
  CannotProvideResponse: 0xce,
  DuplicatedRequest: 0xcf,
  SdrInUpdateMode: 0xd0,
  FirmwareUpdateMode: 0xd1,
  InitializationInProgress: 0xd2,
  DestinationUnavailable: 0xd3,
  InsufficientPrivilege: 0xd4,
  NotSupportedInPresentState: 0xd5,
  SubFunctionDisabled: 0xd6,
  Unspecified: 0xff,
} as const;

/** Thrown by a handler to answer with completion code `cc` (goipmi `completion_code.go`). */
export class IpmiError extends BmlabError {
  readonly cc: number;
  /**
   * Response data sent with the non-zero code. Most codes carry none (§5.2), but some command-specific
   * ones do: DCMI Get Power Limit answers 80h "no active set power limit" with the full limit record
   * (DCMI v1.5 table 6-12), and ipmitool's `dcmi power set_limit` starts from that record.
   */
  readonly data: Buffer | undefined;
  constructor(cc: number, message?: string, options?: { cause?: unknown; data?: Buffer }) {
    super('ERR_IPMI_CC', message ?? `completion code ${cc.toString(16).padStart(2, '0')}h`, options);
    this.cc = cc;
    this.data = options?.data;
  }
}
