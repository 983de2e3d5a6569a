import type { OperationBatch } from '@worldbrain/storex'
import type { ClientSyncLogEntry } from '../types'
import { getEntryId, toStoredEntry, validateEntry } from './entries'
import { CLIENT_SYNC_LOG_COLLECTION } from './schema'

/** Ids per `$in` query or batch step: well under SQLite's bound-parameter limit. */
const IN_CHUNK = 500

export function chunk<T>(items: T[], size = IN_CHUNK): T[][] {
  const chunks: T[][] = []
  for (let index = 0; index < items.length; index += size) {
    chunks.push(items.slice(index, index + size))
  }
  return chunks
}

export function entryIdsOf(entries: Array<Pick<ClientSyncLogEntry, 'deviceId' | 'createdOn'>>): string[] {
  return entries.map((entry) => getEntryId(entry.deviceId, entry.createdOn))
}

/** The first item of each id, in order: what a batch that must not store an id twice inserts. */
export function firstOfEachId<T>(items: Iterable<T>, idOf: (item: T) => string): Map<string, T> {
  const byId = new Map<string, T>()
  for (const item of items) {
    const id = idOf(item)
    if (!byId.has(id)) {
      byId.set(id, item)
    }
  }
  return byId
}

/** createObject steps for log entries, each checked first (`label` names the entry in the error, e.g. 'Log entry'). */
export function insertEntrySteps(entries: ClientSyncLogEntry[], label: string): OperationBatch {
  return entries.map((entry, index) => {
    validateEntry(entry, () => `${label} #${index}`)
    return { operation: 'createObject', collection: CLIENT_SYNC_LOG_COLLECTION, args: toStoredEntry(entry) }
  })
}

/** createObject steps for log entries already checked, under the ids already computed (a bootstrap stores thousands per page). */
export function insertCheckedEntrySteps(entries: Array<[id: string, entry: ClientSyncLogEntry]>): OperationBatch {
  return entries.map(([id, entry]) => ({ operation: 'createObject', collection: CLIENT_SYNC_LOG_COLLECTION, args: toStoredEntry(entry, id) }))
}

/** updateObjects steps for the rows with these ids (and `where`), in chunks. */
export function updateRowsSteps(
  collection: string,
  ids: string[],
  updates: Record<string, unknown>,
  where: Record<string, unknown> = {},
): OperationBatch {
  return chunk(ids).map((part) => ({ operation: 'updateObjects', collection, where: { id: { $in: part }, ...where }, updates }))
}

/** deleteObjects steps for the rows with these ids (and `where`), in chunks. */
export function deleteRowsSteps(collection: string, ids: string[], where: Record<string, unknown> = {}): OperationBatch {
  return chunk(ids).map((part) => ({ operation: 'deleteObjects', collection, where: { id: { $in: part }, ...where } }))
}
