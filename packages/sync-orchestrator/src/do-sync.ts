import {
  getObjectKey,
  getQuarantineId,
  type ClientSyncLogEntry,
  type ObjectHistory,
  type QuarantineEntryInput,
  type ReceivedClientSyncLogEntry,
} from '@storex-sync/client-sync-log'
export { shareLogEntries } from './send'
import type { StorageRegistry } from '@worldbrain/storex'
import { decodeOrQuarantine, jsonSyncSerializer } from './decode'
import { SharedSyncLogError, resolveNow } from '@storex-sync/shared-sync-log-core'
import { bootstrapFromSnapshot } from './bootstrap'
import { SyncOrchestratorError } from './errors'
import { TouchedObjects, touchedObjectsOf } from './internal/touched'
import { createEmitter } from './internal/events'
import { withExistingObjects } from './internal/existing-objects'
import { prepareReconcilerInput, reconcilesLocalWrites } from './internal/local-writes'
import { retryQuarantinedEntries } from './quarantine'
import { shareLogEntries } from './send'
import type {
  CommonSyncOptions,
  IntegrationFailure,
  QuarantinedEntrySummary,
  SyncOptions,
  SyncResult,
  SyncStage,
} from './types'

export { decodeOrQuarantine, jsonSyncSerializer }

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
const RETRIED_EACH_SYNC = ['CLOCK_OUT_OF_RANGE', 'UNKNOWN_COLLECTION', 'UNKNOWN_FIELD'] as const

/**
 * Stage 1: reads the other devices' entries from the shared log, page by
 * page, and stores them in the client sync log. The cursor moves only after a
 * page is stored, so an interrupted receive is simply repeated.
 */
export async function receiveLogEntries(
  options: CommonSyncOptions & { storageRegistry?: StorageRegistry },
  result: SyncResult = emptyResult(),
): Promise<SyncResult> {
  const emit = createEmitter(options.events)
  const serializer = options.serializer ?? jsonSyncSerializer
  const batchSize = positiveInteger(options.batchSize, DEFAULT_BATCH_SIZE, 'batchSize')
  // Entries kept aside until this device can use them are taken back once it can: a clock that
  // caught up, an app update that registered the collection or field.
  await retryQuarantinedEntries({
    ...options,
    storageManager: { registry: options.storageRegistry! },
    onlyReasons: RETRIED_EACH_SYNC,
  })
  while (true) {
    const update = await options.sharedSyncLog.getUnsyncedEntries({
      userId: options.userId,
      deviceId: options.deviceId,
      batchSize,
    })
    if (!update.entries.length) {
      // The cursor still moves past this device's own entries, and the log learns the device is
      // active: a cursor left behind would hold compaction back and get the device retired.
      await options.sharedSyncLog.markAsSeen(update, { userId: options.userId, deviceId: options.deviceId, now: options.now })
      return result
    }
    const received: ReceivedClientSyncLogEntry[] = []
    const quarantined: QuarantineEntryInput[] = []
    let filtered = 0
    for (const sharedEntry of update.entries) {
      const outcome = await decodeOrQuarantine(sharedEntry, options, serializer)
      if (outcome.ok === null) {
        filtered += 1
      } else if (outcome.ok) {
        received.push(outcome.entry)
      } else {
        quarantined.push(outcome.quarantine)
      }
    }
    // Bad entries are stored aside before the cursor moves past them: nothing is dropped.
    if (quarantined.length) {
      await options.clientSyncLog.quarantineEntries(quarantined, { now: resolveNow(options.now) })
      const summaries: QuarantinedEntrySummary[] = quarantined.map((entry) => ({
        id: getQuarantineId(entry.deviceId, entry.createdOn),
        deviceId: entry.deviceId,
        createdOn: entry.createdOn,
        reason: entry.reason,
        message: entry.message,
      }))
      result.received.quarantined += quarantined.length
      result.quarantined.push(...summaries)
      emit('entriesQuarantined', { entries: summaries })
    }
    const { inserted, duplicates } = received.length
      ? await options.clientSyncLog.insertReceivedEntries(received, { now: resolveNow(options.now) })
      : { inserted: 0, duplicates: 0 }
    await options.sharedSyncLog.markAsSeen(update, {
      userId: options.userId,
      deviceId: options.deviceId,
      now: options.now,
    })
    result.received.entries += update.entries.length
    result.received.stored += inserted
    result.received.duplicates += duplicates
    result.received.filtered += filtered
    result.received.pages += 1
    emit('receivedEntries', { entries: update.entries.length, stored: inserted, duplicates, filtered, quarantined: quarantined.length })
    emit('progress', {
      phase: 'receive',
      entries: { done: result.received.entries, total: update.remaining === undefined ? null : result.received.entries + update.remaining },
    })
    if (!update.hasMore) {
      return result
    }
  }
}

function withPlaceholders(batch: any[], batchNumber: number): any[] {
  return batch.map((step, index) => (step.placeholder ? step : { ...step, placeholder: `sync-${batchNumber}-${index}` }))
}

/** Reconciles these objects and writes the outcome with their "integrated" marks in one database batch. */
async function integrateBatch(
  objects: ObjectHistory[],
  options: Pick<SyncOptions, 'clientSyncLog' | 'storageManager' | 'reconciler'> & Partial<Pick<SyncOptions, 'deviceId' | 'reconcileLocalWrites'>>,
  batchNumber: number,
): Promise<{ entries: number; operations: number }> {
  const entries = objects.flatMap((object) => object.entries)
  const pending = entries.filter((entry) => entry.needsIntegration)
  if (!pending.length) {
    throw new SyncOrchestratorError(
      'INTEGRATION_STALLED',
      'the client sync log reported objects to integrate without pending entries; this is a bug in the client sync log, please report it.',
    )
  }
  const input = prepareReconcilerInput(objects, {
    reconcileLocalWrites: reconcilesLocalWrites(options),
    deviceId: options.deviceId,
    storageRegistry: options.storageManager.registry,
  })
  let operations
  try {
    operations = await options.reconciler(input.entries, { storageRegistry: options.storageManager.registry })
  } catch (error) {
    const first = objects[0]!
    throw new SyncOrchestratorError(
      'RECONCILIATION_FAILED',
      `the reconciler threw for ${objects.length === 1 ? `'${first.collection}' ${JSON.stringify(first.pk)}` : `${objects.length} objects`}: ` +
        `${(error as Error)?.message ?? String(error)}. The object stays pending and is retried on the next sync; fix the reconciler or the entries.`,
      { cause: error },
    )
  }
  const batch = [...input.before, ...operations, ...options.clientSyncLog.getMarkAsIntegratedBatch(pending)]
  // Past the logging middleware (nothing is logged twice), through the storage manager's write queue.
  await options.storageManager.backend.operation('executeBatch', withPlaceholders(batch, batchNumber))
  touchedObjectsOf(options)?.add(objects)
  options.clientSyncLog.notifyChange?.({
    kind: 'integrated',
    entries: pending.length,
    collections: [...new Set(objects.map((object) => object.collection))],
  })
  return { entries: pending.length, operations: operations.length }
}

/**
 * Stage 3: runs the reconciler over every object with received entries, a
 * batch of objects at a time, and writes its operations together with the
 * "integrated" marks in one database batch, past the logging middleware so
 * nothing is logged twice. When a batch fails (the reconciler throws, or the
 * write fails), its objects are retried one by one: an object that fails on
 * its own stays pending (deferred until the next sync), is reported in
 * `result.integrationFailures` and an `objectIntegrationFailed` event, and
 * the other objects proceed. Only when every object of a batch fails to be
 * written, which points at the database rather than one object, does the
 * stage throw.
 */
export async function integrateReceivedEntries(
  options: Pick<SyncOptions, 'clientSyncLog' | 'storageManager' | 'reconciler' | 'integrationBatchSize' | 'events' | 'deviceId' | 'now'>,
  result: SyncResult = emptyResult(),
): Promise<SyncResult> {
  const emit = createEmitter(options.events)
  const maxObjects = positiveInteger(options.integrationBatchSize, DEFAULT_INTEGRATION_BATCH_SIZE, 'integrationBatchSize')
  // Objects deferred by an earlier sync get another chance.
  await options.clientSyncLog.resumeDeferredIntegration()
  while (true) {
    const next = await options.clientSyncLog.getNextObjectsToIntegrate({ maxObjects })
    if (!next.length) {
      return result
    }
    const objects =
      options.deviceId === undefined
        ? next
        : await withExistingObjects(next, { ...options, deviceId: options.deviceId, now: resolveNow(options.now) })
    let done: Array<{ objects: number; entries: number; operations: number }>
    try {
      const outcome = await integrateBatch(objects, options, ++result.integrated.batches)
      done = [{ objects: objects.length, ...outcome }]
    } catch (batchError) {
      if (batchError instanceof SyncOrchestratorError && batchError.code === 'INTEGRATION_STALLED') {
        throw batchError
      }
      done = []
      const failures: Array<{ object: ObjectHistory; error: unknown }> = []
      for (const object of objects) {
        try {
          const outcome = await integrateBatch([object], options, ++result.integrated.batches)
          done.push({ objects: 1, ...outcome })
        } catch (error) {
          failures.push({ object, error })
        }
      }
      const writeFailures = failures.filter(
        ({ error }) => !(error instanceof SyncOrchestratorError && error.code === 'RECONCILIATION_FAILED'),
      )
      if (objects.length > 1 && writeFailures.length === objects.length) {
        throw batchError
      }
      for (const { object, error } of failures) {
        await options.clientSyncLog.deferIntegration(object.entries.filter((entry) => entry.needsIntegration))
        const failure: IntegrationFailure = {
          collection: object.collection,
          pk: object.pk,
          objectKey: getObjectKey(object.collection, object.pk),
          message: (error as Error)?.message ?? String(error),
          error,
        }
        result.integrated.failed += 1
        result.integrationFailures.push(failure)
        emit('objectIntegrationFailed', failure)
      }
    }
    for (const item of done) {
      result.integrated.objects += item.objects
      result.integrated.entries += item.entries
      result.integrated.operations += item.operations
      emit('integratedEntries', item)
    }
  }
}

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
  const emit = createEmitter(options.events)
  const started = Date.now()
  const result = emptyResult()
  const touchedObjects = new TouchedObjects()
  const stageOptions = { ...options, storageRegistry: options.storageManager?.registry, touchedObjects }
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
    const touched = touchedObjects.list()
    if (touched.length) {
      result.compacted.entries += (await options.clientSyncLog.deleteObsoleteEntries({ objects: touched })).deleted
    }
  }
  result.durationMs = Date.now() - started
  emit('syncFinished', { result })
  return result
}

type StageOptions = SyncOptions & CommonSyncOptions & { storageRegistry?: StorageRegistry; touchedObjects: TouchedObjects }

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
  await bootstrapFromSnapshot(options, 'fresh', result)
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
