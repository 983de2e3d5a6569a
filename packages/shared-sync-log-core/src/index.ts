export type {
  DeviceId,
  Now,
  SharedSyncLog,
  SharedSyncLogDeviceInfo,
  SharedSyncLogEntry,
  SharedSyncLogEntryData,
  SharedSyncLogEntryInput,
  SharedSyncLogMemo,
  SharedSyncLogUpdate,
  SharedSyncLogCompactionOptions,
  SharedSyncLogCompactionResult,
  SharedSyncLogSnapshotObject,
  SharedSyncLogSnapshotPage,
  UserId,
} from './types'
export { resolveNow } from './types'
export {
  SharedSyncLogRefusalError,
  WRITE_SIZE_RULE,
  enforceLimits,
  measureEntryBytes,
  measureWriteBytes,
  measureWriteOverhead,
  readRefusal,
  utf8Length,
  validateLimits,
  type EntryRefusal,
  type SharedSyncLogLimits,
} from './limits'
export { SharedSyncLogError, SHARED_SYNC_LOG_PACKAGE } from './errors'
export { decideCompaction, validateRetention, type CompactionDecision, type CompactionDevice } from './compaction'
export { MemorySharedSyncLog, type MemorySharedSyncLogOptions } from './memory'
export { randomStringId } from './internal/random-id'
export {
  createSequenceMemo,
  entryIdentityKey,
  readSequenceMemo,
  validateBatchSize,
  validateEntryInputs,
  validateUserId,
} from './validation'
