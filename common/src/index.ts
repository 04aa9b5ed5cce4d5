export { BmlabError, ConfigError, DecodeError, StateError } from './errors.ts';
export { type Rng, cryptoRng, scriptedRng, seededRandom } from './rng.ts';
export { type Clock, ManualClock, systemClock } from './clock.ts';
export { type Logger, createLogger } from './log.ts';
