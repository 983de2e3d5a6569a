// Helpers for writing a SharedSyncLog (`@storex-sync/shared-sync-log-core/implement`): the
// checks, memos, limits and compaction rules every implementation in this repository shares,
// so that a new one refuses and accepts exactly what they do. Apps that only use a log need none of it.
export { createSequenceMemo, entryIdentityKey, readSequenceMemo, validateBatchSize, validateEntryInputs, validateUserId } from './validation'
export { enforceLimits, validateLimits } from './limits'
export { decideCompaction, validateRetention, type CompactionDecision, type CompactionDevice } from './compaction'
export { randomStringId } from './internal/random-id'
