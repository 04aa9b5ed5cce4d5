export { LabState, nodeChanged, type PersistedNode } from './persist.ts';
export { LAB_STATE_SCHEMA_VERSION, LabStateError, LabStateStore, type StoredNode } from './store.ts';
