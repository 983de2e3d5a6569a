import type { StorageRegistry } from '@worldbrain/storex'
import { SharedSyncLogError, resolveNow } from '@storex-sync/shared-sync-log-core'
import { bootstrapFromSnapshot } from './bootstrap'
import { integrateReceivedEntries } from './integrate'
import { resolveSyncContext, type SyncContext } from './internal/context'
import { emptyResult, validateSyncOptions } from './options'
import { receiveLogEntries } from './receive'
import { shareLogEntries } from './send'
import type { CommonSyncOptions, SyncOptions, SyncResult, SyncStage } from './types'

const ALL_STAGES: SyncStage[] = ['receive', 'share', 'integrate']

/**
 * One sync of a device with the shared log: receive the other devices'
 * entries, send this device's own, then integrate what was received.
 * Safe to interrupt at any point and run again.
 */
export async function doSync(options: SyncOptions): Promise<SyncResult> {
  const stages = ALL_STAGES.filter((stage) => options.stages?.[stage] !== false)
  validateSyncOptions(options, stages)
  const run = async () => {
    // A device that wrote before it ever reached the shared log registers now; its entries move to the new id.
    const deviceId =
      options.deviceId ??
      (await options.clientSyncLog.registerDevice(() => options.sharedSyncLog.createDeviceId({ userId: options.userId, now: options.now }), {
        now: resolveNow(options.now),
      }))
    return runStages({ ...options, deviceId }, stages)
  }
  // One sync at a time per device, across the tabs and workers over its database.
  const exclusive = options.clientSyncLog.runSyncExclusive?.bind(options.clientSyncLog)
  return exclusive ? exclusive(run) : run()
}

async function runStages(options: SyncOptions & CommonSyncOptions, stages: SyncStage[]): Promise<SyncResult> {
  const syncContext = resolveSyncContext(options)
  const { emit } = syncContext
  const started = Date.now()
  const result = emptyResult()
  const stageOptions = { ...options, storageRegistry: syncContext.storageRegistry, syncContext }
  emit('syncStarted', { deviceId: options.deviceId, stages })
  for (const stage of stages) {
    emit('stageStarted', { stage })
    try {
      if (stage === 'receive') {
        await startFromSnapshotIfNew(stageOptions, stages, result)
        await receiveOrBootstrap(stageOptions, stages, result)
      } else if (stage === 'share') {
        // Objects that existed before sync was enabled are shared too (once per collection and database).
        await options.clientSyncLog.recordExistingObjects?.({ deviceId: options.deviceId, now: resolveNow(options.now) })
        await shareLogEntries(stageOptions, result)
      } else {
        await integrateReceivedEntries(stageOptions, result)
      }
    } catch (error) {
      emit('syncFailed', { stage, error })
      throw error
    }
    result.durationMs = Date.now() - started
    emit('stageFinished', { stage, result })
  }
  if (options.compactLog ?? options.reconciler?.compactableHistory ?? false) {
    // A chunk of objects at a time: a sync that touched every object (a replay) never holds every history at once.
    const touched = syncContext.touchedObjects.list()
    for (let index = 0; index < touched.length; index += COMPACTION_CHUNK) {
      const objects = touched.slice(index, index + COMPACTION_CHUNK)
      result.compacted.entries += (await options.clientSyncLog.deleteObsoleteEntries({ objects })).deleted
    }
  }
  result.durationMs = Date.now() - started
  emit('syncFinished', { result })
  return result
}

/** Objects whose histories one compaction step reads. */
const COMPACTION_CHUNK = 500

type StageOptions = SyncOptions & CommonSyncOptions & { storageRegistry?: StorageRegistry; syncContext: SyncContext }

/** A device with an empty log starts from the replica's snapshot, where the shared log serves one (unless told to replay). */
async function startFromSnapshotIfNew(options: StageOptions, stages: SyncStage[], result: SyncResult): Promise<void> {
  if (options.bootstrap === 'replay' || typeof options.sharedSyncLog.getSnapshotPage !== 'function' || !stages.includes('integrate')) {
    return
  }
  // Data from before sync was enabled makes the log non-empty: such a device merges instead.
  await options.clientSyncLog.recordExistingObjects?.({ deviceId: options.deviceId, now: resolveNow(options.now) })
  if (await options.clientSyncLog.hasEntries()) {
    return
  }
  await bootstrapFromSnapshot(options, 'fresh', result).catch((error) => {
    // A log that keeps no replica says so (HttpSharedSyncLog, server without --replica): replay the log instead.
    if (!(error instanceof SharedSyncLogError && error.code === 'SNAPSHOT_UNAVAILABLE')) throw error
  })
}

/**
 * Receives; when the log compacted entries this device never read (it was
 * retired after a long silence), first sends what it wrote meanwhile, then
 * merges the replica's snapshot and receives on from there.
 */
async function receiveOrBootstrap(options: StageOptions, stages: SyncStage[], result: SyncResult): Promise<void> {
  try {
    await receiveLogEntries(options, result)
    return
  } catch (error) {
    if (!(error instanceof SharedSyncLogError && error.code === 'SNAPSHOT_REQUIRED')) {
      throw error
    }
  }
  if (stages.includes('share')) {
    await options.clientSyncLog.recordExistingObjects?.({ deviceId: options.deviceId, now: resolveNow(options.now) })
    await shareLogEntries(options, result)
  }
  await bootstrapFromSnapshot(options, (await options.clientSyncLog.hasEntries()) ? 'merge' : 'fresh', result)
  await receiveLogEntries(options, result)
}
