import { resolveNow } from '@storex-sync/shared-sync-log-core'
import { getObjectKey, type ObjectHistory } from '@storex-sync/client-sync-log'
import { SyncOrchestratorError } from './errors'
import { syncContextOf } from './internal/context'
import { withExistingObjects } from './internal/existing-objects'
import { prepareReconcilerInput, reconcilesLocalWrites } from './internal/local-writes'
import { emptyResult } from './options'
import type { IntegrationFailure, SyncOptions, SyncResult } from './types'

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
  syncContextOf(options).touchedObjects.add(objects)
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
  const { emit, integrationBatchSize: maxObjects } = syncContextOf(options)
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
