/**
 * Typed errors with stable codes (undici `core/errors.js` style): callers branch on `code`,
 * never on message text. Every constructor takes `{ cause }` so the chain survives.
 */
export class BmlabError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A byte stream that does not decode: truncated, out of range, or wrong magic. */
export class DecodeError extends BmlabError {}

/** A configuration value that is wrong; `field` names it (dotted path) so the user can find it. */
export class ConfigError extends BmlabError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', `${field}: ${message}`, options);
    this.field = field;
  }
}

/** An operation asked of an object in a state that does not allow it (qemu `protocol.py` StateError). */
export class StateError extends BmlabError {
  readonly state: string;
  readonly required: readonly string[];
  constructor(state: string, required: readonly string[], message?: string) {
    super('ERR_STATE', message ?? `in state '${state}', requires one of: ${required.join(', ')}`);
    this.state = state;
    this.required = required;
  }
}
