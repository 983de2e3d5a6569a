import { SyncOrchestratorError } from './errors'
import type { SyncOptions, SyncResult, SyncStage } from './types'

export const DEFAULT_BATCH_SIZE = 1000
export const DEFAULT_INTEGRATION_BATCH_SIZE = 500

export function emptyResult(): SyncResult {
  return {
    received: { entries: 0, stored: 0, duplicates: 0, filtered: 0, quarantined: 0, pages: 0 },
    sent: { entries: 0, filtered: 0, batches: 0, quarantined: 0 },
    integrated: { objects: 0, entries: 0, operations: 0, batches: 0, failed: 0 },
    bootstrap: { mode: null, objects: 0, entries: 0 },
    compacted: { entries: 0 },
    quarantined: [],
    outgoingQuarantined: [],
    integrationFailures: [],
    durationMs: 0,
  }
}

export function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) {
    return fallback
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new SyncOrchestratorError('INVALID_OPTION', `${name} must be a positive whole number, got ${String(value)}.`)
  }
  return value
}

const SHARED_SYNC_LOG_METHODS = ['createDeviceId', 'getDeviceInfo', 'writeEntries', 'getUnsyncedEntries', 'markAsSeen'] as const

/** Throws a SyncOrchestratorError that says what to fix when doSync is called wrongly. */
export function validateSyncOptions(options: Partial<SyncOptions> & { deviceId?: unknown }, stages: SyncStage[]): void {
  const storesDeviceId = typeof (options.clientSyncLog as { registerDevice?: unknown } | undefined)?.registerDevice === 'function'
  if ((options.deviceId === undefined && !storesDeviceId) || options.deviceId === null || options.deviceId === '') {
    throw new SyncOrchestratorError(
      'DEVICE_ID_MISSING',
      'doSync() needs a deviceId: leave it out to use the id the client sync log keeps (registered at the first sync), ' +
        'or pass one from `await sharedSyncLog.createDeviceId({ userId })` that you store yourself.',
    )
  }
  if (options.userId === undefined || options.userId === null || options.userId === '') {
    throw new SyncOrchestratorError('USER_ID_MISSING', 'doSync() needs the userId whose devices share the log.')
  }
  const sharedSyncLog = options.sharedSyncLog as unknown as Record<string, unknown> | undefined
  const missing = SHARED_SYNC_LOG_METHODS.filter((method) => typeof sharedSyncLog?.[method] !== 'function')
  if (missing.length) {
    throw new SyncOrchestratorError(
      'INVALID_SHARED_SYNC_LOG',
      `sharedSyncLog does not implement the SharedSyncLog interface (missing ${missing.join(', ')}). Pass a MemorySharedSyncLog, a SharedSyncLogStorage or an HttpSharedSyncLog.`,
    )
  }
  if (!options.clientSyncLog || typeof options.clientSyncLog.getUnsharedEntries !== 'function') {
    throw new SyncOrchestratorError(
      'INVALID_CLIENT_SYNC_LOG',
      'clientSyncLog must be the ClientSyncLogStorage registered in this storage manager.',
    )
  }
  if (stages.includes('integrate')) {
    if (typeof options.reconciler !== 'function') {
      throw new SyncOrchestratorError(
        'RECONCILER_MISSING',
        'doSync() needs a reconciler function; pass `reconcileSyncLog` from @storex-sync/reconciliation or your own.',
      )
    }
    if (!options.storageManager?.registry || !options.storageManager.backend) {
      throw new SyncOrchestratorError('STORAGE_MANAGER_MISSING', 'doSync() needs the storageManager the client sync log lives in.')
    }
  }
}

/** Quarantine reasons that time or an app update can lift: doSync retries them at every sync. */
