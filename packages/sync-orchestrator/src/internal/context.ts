import { resolveNow } from '@storex-sync/shared-sync-log-core'
import type { StorageRegistry } from '@worldbrain/storex'
import { DEFAULT_SNAPSHOT_PAGE_SIZE } from '../bootstrap'
import { DEFAULT_BATCH_SIZE, DEFAULT_INTEGRATION_BATCH_SIZE, positiveInteger } from '../options'
import { jsonSyncSerializer } from '../serializer'
import type { CommonSyncOptions, SyncOptions, SyncSerializer } from '../types'
import { createEmitter } from './events'
import { TouchedObjects } from './touched'

/** What every stage of one sync needs, resolved (and checked) once from its options. */
export interface SyncContext {
  emit: ReturnType<typeof createEmitter>
  serializer: SyncSerializer
  batchSize: number
  integrationBatchSize: number
  snapshotPageSize: number
  storageRegistry: StorageRegistry | undefined
  /** The sync's wall clock (ms): its `now` option, or the time of the call. */
  wallNow(): number
  /** The objects the sync wrote entries for: those whose log it compacts at the end. */
  touchedObjects: TouchedObjects
}

type ContextOptions = Partial<Pick<SyncOptions, 'integrationBatchSize' | 'snapshotPageSize' | 'storageManager'>> &
  Partial<Pick<CommonSyncOptions, 'events' | 'serializer' | 'batchSize' | 'now'>> & { storageRegistry?: StorageRegistry }

export function resolveSyncContext(options: ContextOptions): SyncContext {
  return {
    emit: createEmitter(options.events),
    serializer: options.serializer ?? jsonSyncSerializer,
    batchSize: positiveInteger(options.batchSize, DEFAULT_BATCH_SIZE, 'batchSize'),
    integrationBatchSize: positiveInteger(options.integrationBatchSize, DEFAULT_INTEGRATION_BATCH_SIZE, 'integrationBatchSize'),
    snapshotPageSize: positiveInteger(options.snapshotPageSize, DEFAULT_SNAPSHOT_PAGE_SIZE, 'snapshotPageSize'),
    storageRegistry: options.storageRegistry ?? options.storageManager?.registry,
    wallNow: () => resolveNow(options.now),
    touchedObjects: new TouchedObjects(),
  }
}

/** The context doSync resolved for this sync, or (a stage called on its own) one resolved now. */
export function syncContextOf(options: ContextOptions & { syncContext?: SyncContext }): SyncContext {
  return options.syncContext ?? resolveSyncContext(options)
}
