/**
 * Redfish errors (DSP0266 §9.6 "Error responses"): every failure is one `RedfishError{status}` that
 * the app's single error handler renders as
 * `{ error: { code, message, "@Message.ExtendedInfo": [ { MessageId, Message, ... } ] } }`,
 * with message IDs from the DMTF `Base` message registry (Base.1.x), as sushy's
 * `exceptions.HTTPError` parses them.
 */
import { BmlabError } from '../../../common/src/index.ts';

export const BASE_REGISTRY = 'Base.1.8';

export interface ExtendedInfo {
  readonly MessageId: string;
  readonly Message: string;
  readonly MessageArgs?: readonly string[];
  readonly RelatedProperties?: readonly string[];
  readonly Severity: 'OK' | 'Warning' | 'Critical';
  readonly Resolution: string;
}

export class RedfishError extends BmlabError {
  readonly status: number;
  readonly messageId: string;
  readonly args: readonly string[];
  readonly related: readonly string[];
  readonly resolution: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    messageId: string,
    message: string,
    o: {
      args?: readonly string[];
      related?: readonly string[];
      resolution?: string;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(`ERR_REDFISH_${status}`, message, { cause: o.cause });
    this.status = status;
    this.messageId = messageId;
    this.args = o.args ?? [];
    this.related = o.related ?? [];
    this.resolution = o.resolution ?? 'None.';
    this.headers = o.headers ?? {};
  }
}

/** The constructors below are the Base registry messages the service uses, one per failure kind. */
export const Errors = {
  notFound: (type: string, id: string) =>
    new RedfishError(
      404,
      'ResourceNotFound',
      `The requested resource of type ${type} named '${id}' was not found.`,
      {
        args: [type, id],
        resolution: 'Provide a valid resource identifier and resubmit the request.',
      },
    ),
  missingAtUri: (uri: string) =>
    new RedfishError(404, 'ResourceMissingAtURI', `The resource at the URI ${uri} was not found.`, {
      args: [uri],
      resolution: 'Place a valid resource at the URI or correct the URI and resubmit the request.',
    }),
  noValidSession: () =>
    new RedfishError(
      401,
      'NoValidSession',
      'There is no valid session established with the implementation.',
      {
        resolution: 'Establish a session before attempting any operations.',
        headers: { 'WWW-Authenticate': 'Basic realm="bmlab"' },
      },
    ),
  methodNotAllowed: (allow: readonly string[]) =>
    new RedfishError(405, 'OperationNotAllowed', 'The HTTP method is not allowed on this resource.', {
      headers: { Allow: allow.join(', ') },
    }),
  preconditionFailed: () =>
    new RedfishError(
      412,
      'PreconditionFailed',
      'The ETag supplied did not match the ETag required to change this resource.',
      {
        resolution: 'Try the operation again using the appropriate ETag.',
      },
    ),
  malformedJson: () =>
    new RedfishError(
      400,
      'MalformedJSON',
      'The request body submitted was malformed JSON and could not be parsed by the receiving service.',
      {
        resolution: 'Ensure that the request body is valid JSON and resubmit the request.',
      },
    ),
  propertyUnknown: (prop: string) =>
    new RedfishError(
      400,
      'PropertyUnknown',
      `The property ${prop} is not in the list of valid properties for the resource.`,
      {
        args: [prop],
        related: [`#/${prop}`],
        resolution:
          'Remove the unknown property from the request body and resubmit the request if the operation failed.',
      },
    ),
  propertyNotWritable: (prop: string) =>
    new RedfishError(
      400,
      'PropertyNotWritable',
      `The property ${prop} is a read only property and cannot be assigned a value.`,
      {
        args: [prop],
        related: [`#/${prop}`],
        resolution:
          'Remove the property from the request body and resubmit the request if the operation failed.',
      },
    ),
  propertyValueNotInList: (prop: string, value: unknown) =>
    new RedfishError(
      400,
      'PropertyValueNotInList',
      `The value ${JSON.stringify(value)} for the property ${prop} is not in the list of acceptable values.`,
      {
        args: [String(value), prop],
        related: [`#/${prop}`],
        resolution:
          'Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.',
      },
    ),
  propertyValueTypeError: (prop: string, value: unknown) =>
    new RedfishError(
      400,
      'PropertyValueTypeError',
      `The value ${JSON.stringify(value)} for the property ${prop} is of a different type than the property can accept.`,
      {
        args: [JSON.stringify(value), prop],
        related: [`#/${prop}`],
        resolution:
          'Correct the value for the property in the request body and resubmit the request if the operation failed.',
      },
    ),
  propertyMissing: (prop: string) =>
    new RedfishError(
      400,
      'PropertyMissing',
      `The property ${prop} is a required property and must be included in the request.`,
      {
        args: [prop],
        related: [`#/${prop}`],
        resolution:
          'Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed.',
      },
    ),
  actionParameterNotSupported: (param: string, action: string) =>
    new RedfishError(
      400,
      'ActionParameterNotSupported',
      `The parameter ${param} for the action ${action} is not supported on the target resource.`,
      {
        args: [param, action],
        resolution: 'Remove the parameter supplied and resubmit the request if the operation failed.',
      },
    ),
  actionParameterValueNotInList: (value: unknown, param: string, action: string) =>
    new RedfishError(
      400,
      'ActionParameterValueNotInList',
      `The value ${JSON.stringify(value)} for the parameter ${param} in the action ${action} is not in the list of acceptable values.`,
      {
        args: [String(value), param, action],
        resolution:
          'Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.',
      },
    ),
  actionParameterMissing: (action: string, param: string) =>
    new RedfishError(
      400,
      'ActionParameterMissing',
      `The action ${action} requires the parameter ${param} to be present in the request body.`,
      {
        args: [action, param],
        resolution:
          'Supply the action with the required parameter in the request body when the request is resubmitted.',
      },
    ),
  conflict: (message: string) =>
    new RedfishError(409, 'ResourceInUse', message, {
      resolution: 'Remove the condition and resubmit the request if the operation failed.',
    }),
  unsupportedMediaType: () =>
    new RedfishError(
      415,
      'UnsupportedMediaType',
      'The request specified a Content-Type header that is not supported.',
      {
        resolution: 'Resubmit the request with application/json as the Content-Type.',
      },
    ),
  unavailable: (retryAfterS: number) =>
    new RedfishError(
      503,
      'ServiceTemporarilyUnavailable',
      `The service is temporarily unavailable.  Retry in ${retryAfterS} seconds.`,
      {
        args: [String(retryAfterS)],
        resolution: 'Wait for the indicated retry duration and retry the operation.',
        headers: { 'Retry-After': String(retryAfterS) },
      },
    ),
  internal: (cause: unknown) =>
    new RedfishError(
      500,
      'InternalError',
      'The request failed due to an internal service error.  The service is still operational.',
      {
        resolution: 'Resubmit the request.  If the problem persists, consider resetting the service.',
        cause,
      },
    ),
} as const;

/** The response body of DSP0266 §9.6: the first message is repeated as the error's code/message. */
export function errorBody(e: RedfishError): object {
  const info: ExtendedInfo = {
    MessageId: `${BASE_REGISTRY}.${e.messageId}`,
    Message: e.message,
    ...(e.args.length > 0 ? { MessageArgs: e.args } : {}),
    ...(e.related.length > 0 ? { RelatedProperties: e.related } : {}),
    Severity: e.status >= 500 || e.status === 401 ? 'Critical' : 'Warning',
    Resolution: e.resolution,
  };
  return {
    error: {
      code: `${BASE_REGISTRY}.${e.status === 400 ? 'GeneralError' : e.messageId}`,
      message:
        e.status === 400 ? 'A general error has occurred. See ExtendedInfo for more information.' : e.message,
      '@Message.ExtendedInfo': [{ '@odata.type': '#Message.v1_1_1.Message', ...info }],
    },
  };
}
