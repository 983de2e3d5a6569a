export { ClientSyncLogStorage } from './storage'
export type { ReceivedClientSyncLogEntry, ObjectHistory } from './storage'
export { compareEntries, reviveDateFields } from './internal/entries'
export { HybridLogicalClock, HLC_TICKS_PER_MS, hlcWallTime } from './clock'
export { getPkFields, getObjectPk, getPkWhere, withoutPkFields, getObjectKey } from './pk'
export { ClientSyncLogError } from './errors'
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
