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
  UserId,
} from './types'
export { resolveNow } from './types'
export { SharedSyncLogError, SHARED_SYNC_LOG_PACKAGE } from './errors'
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
