export { ClientSyncLogStorage } from './storage'
export { CLIENT_SYNC_LOG_COLLECTION } from './internal/schema'
export type { ClientSyncLogStorageOptions } from './internal/log-module'
export type { SyncChange, SyncChangeKind, SyncChangeListener } from './internal/change-channel'
export type { DeviceIdentity } from './internal/device-state'
export {
  checkEntry,
  checkClockValue,
  maxAcceptedClockValue,
  DEFAULT_MAX_CLOCK_DRIFT_MS,
} from './entry-check'
export type { EntryProblem, EntryProblemReason, EntryCheckOptions } from './entry-check'
export { compareEntries, reviveDateFields } from './internal/entries'
export { compactHistory, findObsoleteEntries } from './history'
export type { ObjectSyncState } from './object-states'
export { HybridLogicalClock, HLC_TICKS_PER_MS, hlcWallTime } from './clock'
export { getPkFields, getObjectPk, getPkWhere, withoutPkFields, getObjectKey } from './pk'
export { ClientSyncLogError } from './errors'
export type { ClientSyncLogErrorCode } from './errors'
export {
  findReceivedEntryProblem,
  getQuarantineId,
  CLIENT_SYNC_LOG_QUARANTINE_COLLECTION,
} from './quarantine'
export type { QuarantineReason, QuarantineEntryInput, QuarantinedEntry } from './quarantine'
export type {
  DeviceId,
  ObjectPk,
  ClientSyncLogEntry,
  ClientSyncLogCreationEntry,
  ClientSyncLogModificationEntry,
  ClientSyncLogDeletionEntry,
  ClientSyncLogOperation,
  ReconcilerFunction,
  PendingLogEntry,
  ReceivedClientSyncLogEntry,
  ObjectHistory,
} from './types'
export {
  CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
  UNSHARED_QUARANTINED,
} from './outgoing-quarantine'
export type {
  OutgoingQuarantineReason,
  OutgoingQuarantineInput,
  OutgoingQuarantinedEntry,
  OutgoingDiscardPlan,
} from './outgoing-quarantine'
