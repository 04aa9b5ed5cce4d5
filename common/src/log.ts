/**
 * Namespaced debug loggers (mqtt-packet `parser.js` style). Enabled with BMLAB_DEBUG=ns1,ns2 or
 * BMLAB_DEBUG=* ; warnings always print to stderr. Disabled debug calls cost one boolean check.
 */
export interface Logger {
  readonly enabled: boolean;
  debug(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
}

const patterns = (process.env['BMLAB_DEBUG'] ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

function matches(ns: string): boolean {
  return patterns.some((p) => p === '*' || p === ns || (p.endsWith('*') && ns.startsWith(p.slice(0, -1))));
}

export function createLogger(ns: string): Logger {
  const enabled = matches(ns);
  return {
    enabled,
    debug(msg, ...args) {
      if (enabled) console.error(`[${ns}] ${msg}`, ...args);
    },
    warn(msg, ...args) {
      console.error(`[${ns}] warning: ${msg}`, ...args);
    },
  };
}
