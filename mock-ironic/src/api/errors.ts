/**
 * Errors the API returns, rendered exactly as Ironic 21.4 does: the body is
 * `{"error_message": "<JSON of {faultcode, faultstring, debuginfo}>"}` (api/method.py
 * `format_exception`, wrapped by api/middleware/parsable_error.py), with Python's json.dumps spacing.
 */
export class ApiError extends Error {
  readonly status: number;
  /** The Ironic exception class, for logs and tests (`NodeLocked`, `InvalidStateRequested`, ...). */
  readonly kind: string;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    faultstring: string,
    kind = 'IronicException',
    headers: Record<string, string> = {},
  ) {
    super(faultstring);
    this.name = 'ApiError';
    this.status = status;
    this.kind = kind;
    this.headers = headers;
  }

  static badRequest(msg: string, kind = 'InvalidParameterValue'): ApiError {
    return new ApiError(400, msg, kind);
  }

  static notFound(msg = 'Resource could not be found.', kind = 'NotFound'): ApiError {
    return new ApiError(404, msg, kind);
  }

  static conflict(msg: string, kind = 'Conflict'): ApiError {
    return new ApiError(409, msg, kind);
  }

  static nodeNotFound(ident: string): ApiError {
    return new ApiError(404, `Node ${ident} could not be found.`, 'NodeNotFound');
  }

  static portNotFound(ident: string): ApiError {
    return new ApiError(404, `Port ${ident} could not be found.`, 'PortNotFound');
  }

  static nodeLocked(node: string, host: string): ApiError {
    return new ApiError(
      409,
      `Node ${node} is locked by host ${host}, please retry after the current operation is completed.`,
      'NodeLocked',
    );
  }

  /** exception.InvalidStateRequested. */
  static invalidState(action: string, node: string, state: string | null): ApiError {
    return new ApiError(
      400,
      `The requested action "${action}" can not be performed on node "${node}" while it is in state "${state ?? 'None'}".`,
      'InvalidStateRequested',
    );
  }
}

/** Python `json.dumps` of a flat object of strings/null: `{"a": "x", "b": null}` (ensure_ascii). */
function pyDumps(obj: Record<string, string | null>): string {
  const esc = (s: string) =>
    JSON.stringify(s).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  return `{${Object.entries(obj)
    .map(([k, v]) => `${esc(k)}: ${v === null ? 'null' : esc(v)}`)
    .join(', ')}}`;
}

export function errorBody(status: number, faultstring: string): string {
  const inner = pyDumps({ faultcode: status < 500 ? 'Client' : 'Server', faultstring, debuginfo: null });
  return pyDumps({ error_message: inner });
}
