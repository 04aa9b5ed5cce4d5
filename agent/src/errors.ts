/**
 * The REST errors of ironic-python-agent (`ironic_python_agent/errors.py`, IPA 9.4). Ironic reads them
 * in two places, so their shape is the contract:
 * - as `command_error` of a FAILED command: `{type, code, message, details}` (`RESTError.serializable_fields`),
 *   where `type` is the class name, `code` the HTTP status, `message` the class's fixed text;
 * - as an HTTP error of the command API: `{faultcode: 'Client'|'Server', faultstring: str(exc)}`
 *   (`api/app.py format_exception`, emulating WSME), where `str(exc)` is `"<message>: <details>"`.
 */
import { BmlabError } from '../../common/src/index.ts';

export interface SerializedError {
  readonly type: string;
  readonly code: number;
  readonly message: string;
  readonly details: string;
}

export class IpaError extends BmlabError {
  /** The IPA class name (`type` on the wire). */
  readonly type: string;
  /** The HTTP status (`code` on the wire). */
  readonly status: number;
  readonly ipaMessage: string;
  readonly details: string;
  constructor(
    type: string,
    status: number,
    ipaMessage: string,
    details: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_IPA', `${ipaMessage}: ${details}`, options);
    this.type = type;
    this.status = status;
    this.ipaMessage = ipaMessage;
    this.details = details;
  }
  serialize(): SerializedError {
    return { type: this.type, code: this.status, message: this.ipaMessage, details: this.details };
  }
}

/** One row per IPA error class: [type, HTTP status, message]. */
const table = {
  RESTError: [500, 'An error occurred'],
  InvalidContentError: [400, 'Invalid request body'],
  NotFound: [404, 'Not found'],
  CommandExecutionError: [500, 'Command execution failed'],
  InvalidCommandError: [400, 'Invalid command'],
  InvalidCommandParamsError: [400, 'Invalid command parameters'],
  RequestedObjectNotFoundError: [404, 'Not found'],
  AgentIsBusy: [409, 'Agent is busy'],
  ImageDownloadError: [500, 'Error downloading image'],
  ImageChecksumError: [500, 'Error verifying image checksum'],
  ImageWriteError: [500, 'Error writing image to device'],
  SystemRebootError: [500, 'Error rebooting system'],
  BlockDeviceEraseError: [500, 'Error erasing block device'],
  HardwareManagerMethodNotFound: [500, 'No HardwareManager found to handle method'],
  VersionMismatch: [409, 'Hardware managers version mismatch, reload agent with correct version'],
  CleaningError: [500, 'Clean step failed'],
  DeploymentError: [500, 'Deploy step failed'],
  DeviceNotFound: [404, 'Error finding the disk or partition device to deploy the image onto'],
} as const satisfies Record<string, readonly [number, string]>;

export type IpaErrorType = keyof typeof table;

export function ipaError(type: IpaErrorType, details: string, options?: { cause?: unknown }): IpaError {
  const [status, message] = table[type];
  return new IpaError(type, status, message, details, options);
}

// The constructors whose details IPA formats itself.
export const errors = {
  invalidCommand: (details: string) => ipaError('InvalidCommandError', details),
  invalidParams: (details: string) => ipaError('InvalidCommandParamsError', details),
  notFound: (what: string, id: string) =>
    ipaError('RequestedObjectNotFoundError', `${what} with id ${id} not found.`),
  busy: (commandName: string) => ipaError('AgentIsBusy', `executing command ${commandName}`),
  execution: (details: string) => ipaError('CommandExecutionError', details),
  imageDownload: (imageId: string, msg: string) =>
    ipaError('ImageDownloadError', `Download of image ${imageId} failed: ${msg}`),
  imageChecksum: (imageId: string, location: string, expected: string, actual: string) =>
    ipaError(
      'ImageChecksumError',
      `Image failed to verify against checksum. location: ${location}; image ID: ${imageId}; ` +
        `image checksum: ${expected}; verification checksum: ${actual}`,
    ),
  imageWrite: (device: string, exitCode: number, stdout: string, stderr: string) =>
    ipaError(
      'ImageWriteError',
      `Writing image to device ${device} failed with exit code ${exitCode}. stdout: ${stdout}. stderr: ${stderr}`,
    ),
  methodNotFound: (method: string) =>
    ipaError('HardwareManagerMethodNotFound', `Could not find method: ${method}`),
  versionMismatch: (agent: unknown, node: unknown) =>
    ipaError(
      'VersionMismatch',
      `Current versions: ${pyRepr(agent)}, versions used by ironic: ${pyRepr(node)}`,
    ),
} as const;

/** Renders a value roughly as Python's str() of a dict would, for messages that embed one. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `'${k}': ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

/**
 * The command API's HTTP error body. werkzeug's own HTTP exceptions (401 bad token, 400 bad body,
 * 404 unknown route) stringify as "<code> <Name>: <description>".
 */
export interface FaultBody {
  readonly faultcode: 'Client' | 'Server';
  readonly faultstring: string;
}

export function faultBody(status: number, faultstring: string): FaultBody {
  return { faultcode: status >= 500 ? 'Server' : 'Client', faultstring };
}

/** A werkzeug HTTPException as IPA's API renders it. */
export class HttpFault extends BmlabError {
  readonly status: number;
  constructor(status: number, faultstring: string) {
    super('ERR_IPA_HTTP', faultstring);
    this.status = status;
  }
}

export const httpFaults = {
  unauthorized: () => new HttpFault(401, '401 Unauthorized: Token invalid.'),
  badRequest: (description: string) => new HttpFault(400, `400 Bad Request: ${description}`),
  notFound: () =>
    new HttpFault(
      404,
      '404 Not Found: The requested URL was not found on the server. If you entered the URL manually ' +
        'please check your spelling and try again.',
    ),
  methodNotAllowed: () =>
    new HttpFault(405, '405 Method Not Allowed: The method is not allowed for the requested URL.'),
} as const;
