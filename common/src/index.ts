export { type Clock, ManualClock, systemClock } from './clock.ts';
export { BmlabError, ConfigError, DecodeError, StateError } from './errors.ts';
export { createLogger, type Logger } from './log.ts';
export { cryptoRng, type Rng, scriptedRng, seededRandom } from './rng.ts';
