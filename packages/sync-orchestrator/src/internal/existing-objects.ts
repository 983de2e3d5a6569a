import { getPkFields, getPkWhere, type ClientSyncLogStorage, type DeviceId, type ObjectHistory } from '@storex-sync/client-sync-log'
import type { SyncOptions } from '../types'

/**
 * Objects that receive entries but have no entry this device wrote or
 * integrated may still exist in the database: written
 * before sync was enabled, or while logging was disabled. The reconciler
 * would take them for absent (and create them again, or drop a modify). Those
 * found in the database are recorded as existing (the client sync log's
 * baseline entries, which sort before every real write) and their histories
 * read again. One query per collection and batch, and only for objects
 * without an applied entry.
 */
export async function withExistingObjects(
  objects: ObjectHistory[],
  options: {
    clientSyncLog: ClientSyncLogStorage
    storageManager: SyncOptions['storageManager']
    deviceId: DeviceId
    now: number
  },
): Promise<ObjectHistory[]> {
  // Own entries count as applied even when pending (reconcileLocalWrites passes them through the reconciler).
  const withoutCreate = objects.filter((object) =>
    object.entries.every((entry) => entry.needsIntegration && entry.deviceId !== options.deviceId),
  )
  if (!withoutCreate.length || typeof options.clientSyncLog.recordBaselineObjects !== 'function') {
    return objects
  }
  const registry = options.storageManager.registry
  const byCollection = new Map<string, ObjectHistory[]>()
  for (const object of withoutCreate) {
    byCollection.set(object.collection, [...(byCollection.get(object.collection) ?? []), object])
  }
  let recorded = 0
  for (const [collection, histories] of byCollection) {
    if (!registry.collections[collection]) continue
    const pkFields = getPkFields(registry, collection)
    const found: Array<Record<string, unknown>> =
      pkFields.length === 1
        ? ((await options.storageManager.backend.operation('findObjects', collection, { [pkFields[0]!]: { $in: histories.map((history) => history.pk) } })) ?? [])
        : (
            await Promise.all(
              histories.map((history) => options.storageManager.backend.operation('findObject', collection, getPkWhere(registry, collection, history.pk))),
            )
          ).filter(Boolean)
    if (found.length) {
      recorded += await options.clientSyncLog.recordBaselineObjects(collection, found, { deviceId: options.deviceId, now: options.now })
    }
  }
  if (!recorded) {
    return objects
  }
  const refreshed = new Set(withoutCreate)
  return Promise.all(
    objects.map(async (object) =>
      refreshed.has(object) ? { ...object, entries: await options.clientSyncLog.getEntriesForObject(object.collection, object.pk) } : object,
    ),
  )
}
