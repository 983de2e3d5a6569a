import { getObjectKey, getObjectPk } from '@storex-sync/client-sync-log'
import type { DeviceStorageManager } from './device'

/** Every object of the synced collections, per collection, in a form two devices can be compared by. */
export type SyncedObjects = Record<string, Array<Record<string, unknown>>>

/**
 * What a device holds of its synced collections: per collection, the objects
 * sorted by pk, each with its fields in name order and without absent or null
 * fields (backends differ in how they return an optional field never set).
 * Two devices that agree read the same, so `expect(await a.readSyncedObjects()).toEqual(await b.readSyncedObjects())`
 * checks that they converged.
 */
export async function readSyncedObjects(storageManager: DeviceStorageManager, collections: readonly string[]): Promise<SyncedObjects> {
  const registry = storageManager.registry as never
  const result: SyncedObjects = {}
  for (const collection of collections) {
    const objects = (await storageManager.backend.operation('findObjects', collection, {})) as Array<Record<string, unknown>>
    result[collection] = objects
      .map((object) => ({ key: getObjectKey(collection, getObjectPk(registry, collection, object)), object: withoutAbsentFields(object) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ object }) => object)
  }
  return result
}

function withoutAbsentFields(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(object)
      .filter(([, value]) => value !== null && value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  )
}
