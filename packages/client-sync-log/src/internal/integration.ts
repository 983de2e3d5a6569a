import type { StorageRegistry } from '@worldbrain/storex'
import type { ClientSyncLogEntry, DeviceId, ObjectHistory } from '../types'
import { compareEntries, fromStoredEntry } from './entries'
import type { StoredLogEntry } from './schema'

/** How many pending entries getNextObjectsToIntegrate reads per wanted object. */
export const PENDING_ENTRIES_PER_OBJECT = 4

/**
 * The objects of the oldest pending entries (by compareEntries), oldest
 * first, at most `maxObjects`. Only the clocks and object keys of `pending`
 * are read: the values are revived once, with the objects' histories.
 */
export function oldestPendingObjects(pending: StoredLogEntry[], maxObjects: number | undefined): string[] {
  const sorted = [...pending].sort((a, b) => compareEntries(clockOf(a), clockOf(b)))
  const objectKeys = new Set<string>()
  for (const stored of sorted) {
    if (maxObjects && objectKeys.size >= maxObjects) {
      break
    }
    objectKeys.add(stored.objectKey)
  }
  return [...objectKeys]
}

/** The histories of these objects from their stored entries, in the order of `objectKeys`; objects without entries are left out. */
export function objectHistories(storageRegistry: StorageRegistry, objectKeys: string[], stored: StoredLogEntry[]): ObjectHistory[] {
  const histories = new Map<string, ClientSyncLogEntry[]>(objectKeys.map((objectKey) => [objectKey, []]))
  for (const row of stored) {
    histories.get(row.objectKey)?.push(fromStoredEntry(storageRegistry, row))
  }
  const result: ObjectHistory[] = []
  for (const entries of histories.values()) {
    const first = entries.sort(compareEntries)[0]
    if (first) {
      result.push({ collection: first.collection, pk: first.pk, entries })
    }
  }
  return result
}

function clockOf(stored: StoredLogEntry): Pick<ClientSyncLogEntry, 'createdOn' | 'deviceId'> {
  return { createdOn: Number(stored.createdOn), deviceId: stored.deviceId as DeviceId }
}
