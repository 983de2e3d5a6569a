import { syncErrorClass } from '@storex-sync/errors'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type SyncOrchestratorErrorCode =
  | 'INVALID_OPTION'
  | 'DEVICE_ID_MISSING'
  | 'USER_ID_MISSING'
  | 'STORAGE_MANAGER_MISSING'
  | 'RECONCILER_MISSING'
  | 'OUTGOING_QUARANTINE_MISSING'
  | 'INVALID_CLIENT_SYNC_LOG'
  | 'INVALID_SHARED_SYNC_LOG'
  | 'RECONCILIATION_FAILED'
  | 'INTEGRATION_STALLED'
  | 'SNAPSHOT_UNAVAILABLE'

/** Error thrown by `@storex-sync/sync-orchestrator`. */
export class SyncOrchestratorError extends syncErrorClass<SyncOrchestratorErrorCode>('@storex-sync/sync-orchestrator') {}
