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
  measureEntryBytes,
  measureWriteBytes,
  measureWriteOverhead,
  readRefusal,
  utf8Length,
  type EntryRefusal,
  type SharedSyncLogLimits,
} from './limits'
export { SharedSyncLogError, SHARED_SYNC_LOG_PACKAGE } from './errors'
export type { SharedSyncLogErrorCode } from './errors'
export { MemorySharedSyncLog, type MemorySharedSyncLogOptions } from './memory'
