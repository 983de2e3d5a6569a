export { doSync } from './do-sync'
export { receiveLogEntries } from './receive'
export { shareLogEntries } from './send'
export { integrateReceivedEntries } from './integrate'
export { validateSyncOptions, DEFAULT_BATCH_SIZE, DEFAULT_INTEGRATION_BATCH_SIZE } from './options'
export { jsonSyncSerializer } from './serializer'
export { bootstrapFromSnapshot, DEFAULT_SNAPSHOT_PAGE_SIZE, type BootstrapMode } from './bootstrap'
export { SyncOrchestratorError } from './errors'
export type { SyncOrchestratorErrorCode } from './errors'
export { retryQuarantinedEntries, type RetryQuarantinedEntriesOptions } from './quarantine'
export { ContinuousSync } from './continuous-sync'
export { readLimits } from './send'
export {
  diagnoseSync,
  classifySyncError,
  describeDuration,
  type DiagnoseSyncOptions,
  type SyncDiagnosis,
  type SyncFinding,
  type SyncFindingCode,
} from './doctor'
export {
  retryOutgoingEntries,
  discardOutgoingEntries,
  type RetryOutgoingEntriesOptions,
  type DiscardOutgoingEntriesOptions,
} from './outgoing'
export type {
  ContinuousSyncOptions,
  ContinuousSyncBackoff,
  ContinuousSyncCounts,
  ContinuousSyncEventMap,
  ContinuousSyncEventName,
  ContinuousSyncReason,
  ContinuousSyncState,
  ContinuousSyncStatus,
  LocalWriteSource,
} from './continuous-sync-types'
export type {
  CommonSyncOptions,
  SyncOptions,
  SyncResult,
  QuarantinedEntrySummary,
  OutgoingQuarantinedSummary,
  IntegrationFailure,
  SyncSerializer,
  SyncPreSendProcessor,
  SyncPostReceiveProcessor,
  SyncStage,
  SyncEventMap,
  SyncEventName,
  SyncEventEmitter,
  SyncProgress,
  SyncProgressCount,
} from './types'
