import type { CollectionDefinition, OperationBatch } from '@worldbrain/storex'
import { chunk, deleteRowsSteps, firstOfEachId, updateRowsSteps } from './internal/batch-steps'
import { compareStrings, getEntryId } from './internal/entries'
import { CLIENT_SYNC_LOG_COLLECTION, NEEDS_INTEGRATION, type StoredLogEntry } from './internal/schema'
import { getObjectKey } from './pk'
import type { ClientSyncLogEntry, ObjectPk } from './types'

export const CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION = 'clientSyncLogOutgoingQuarantine'

/** `unshared` of an own entry set aside in the outgoing quarantine (1: waits to be sent, 0: shared). */
export const UNSHARED_QUARANTINED = 2

/**
 * Why an own entry was set aside instead of sent:
 * - `TOO_LARGE`: larger, on its own, than the shared log accepts in one write;
 * - `REFUSED`: the shared log refused this entry for good (its message says why);
 * - `UNSERIALIZABLE`: the serializer threw for it;
 * - `HELD_BEHIND`: an earlier entry of the same object is quarantined, so this
 *   one waits with it (sending it alone would show other devices a history
 *   with a hole in it).
 */
export type OutgoingQuarantineReason = 'TOO_LARGE' | 'REFUSED' | 'UNSERIALIZABLE' | 'HELD_BEHIND'

/** An own entry to set aside, as you pass it to `quarantineOutgoingEntries()`. */
export interface OutgoingQuarantineInput {
  entry: Pick<ClientSyncLogEntry, 'deviceId' | 'createdOn' | 'collection' | 'pk'>
  reason: OutgoingQuarantineReason
  /** What exactly was wrong, for a human (the shared log's words for `REFUSED`). */
  message: string
}

/** An own entry in the outgoing quarantine, as `getOutgoingQuarantinedEntries()` lists it. */
export interface OutgoingQuarantinedEntry {
  /** The entry's id in the log (deterministic from deviceId + createdOn). */
  id: string
  reason: OutgoingQuarantineReason
  message: string
  /** Wall-clock ms at which it was set aside. */
  quarantinedOn: number
  objectKey: string
  collection: string
  pk: ObjectPk
  /** The entry itself, still in the log (never sent), or null if the log lost it. */
  entry: ClientSyncLogEntry | null
}

export interface StoredOutgoingQuarantinedEntry {
  id: string
  objectKey: string
  createdOn: number
  reason: string
  message: string
  quarantinedOn: number
}

export const clientSyncLogOutgoingQuarantineCollection: CollectionDefinition = {
  version: new Date('2026-11-30'),
  fields: {
    id: { type: 'string' },
    objectKey: { type: 'string' },
    createdOn: { type: 'float' },
    reason: { type: 'string' },
    message: { type: 'text' },
    quarantinedOn: { type: 'float' },
  },
  indices: [{ field: 'id', pk: true }, { field: 'objectKey' }],
}

/** What ClientSyncLogStorage lends the functions below. */
export interface OutgoingQuarantineContext {
  findRecords(where: Record<string, unknown>): Promise<StoredOutgoingQuarantinedEntry[]>
  findRecordsIn(field: 'id' | 'objectKey', values: string[]): Promise<StoredOutgoingQuarantinedEntry[]>
  findEntriesIn(field: 'id' | 'objectKey', values: string[]): Promise<StoredLogEntry[]>
  revive(stored: StoredLogEntry[]): ClientSyncLogEntry[]
  executeBatch(batch: OperationBatch): Promise<void>
}

export async function quarantineOutgoing(
  context: OutgoingQuarantineContext,
  items: OutgoingQuarantineInput[],
  options: { now: number },
): Promise<{ quarantined: number }> {
  const byId = firstOfEachId(
    items.map(
      (item): StoredOutgoingQuarantinedEntry => ({
        id: getEntryId(item.entry.deviceId, item.entry.createdOn),
        objectKey: getObjectKey(item.entry.collection, item.entry.pk),
        createdOn: item.entry.createdOn,
        reason: item.reason,
        message: item.message,
        quarantinedOn: options.now,
      }),
    ),
    (record) => record.id,
  )
  if (!byId.size) {
    return { quarantined: 0 }
  }
  const ids = [...byId.keys()]
  const existing = new Set((await context.findRecordsIn('id', ids)).map((record) => record.id))
  const toInsert = [...byId.values()].filter((record) => !existing.has(record.id))
  // The flag and the record change in one batch: an entry is never half set aside.
  await context.executeBatch([
    ...updateRowsSteps(CLIENT_SYNC_LOG_COLLECTION, ids, { unshared: UNSHARED_QUARANTINED }, { unshared: 1 }),
    ...toInsert.map((args) => ({ operation: 'createObject' as const, collection: CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION, args })),
  ])
  return { quarantined: toInsert.length }
}

export async function listOutgoing(context: OutgoingQuarantineContext): Promise<OutgoingQuarantinedEntry[]> {
  const records = await context.findRecords({})
  const entries = new Map(
    context.revive(await context.findEntriesIn('id', records.map((record) => record.id))).map((entry) => [
      getEntryId(entry.deviceId, entry.createdOn),
      entry,
    ]),
  )
  return records
    .sort((a, b) => Number(a.createdOn) - Number(b.createdOn) || compareStrings(a.id, b.id))
    .map((record) => {
      const entry = entries.get(record.id) ?? null
      const [collection, pk] = parseObjectKey(record.objectKey, entry)
      return {
        id: record.id,
        reason: record.reason as OutgoingQuarantineReason,
        message: record.message,
        quarantinedOn: Number(record.quarantinedOn),
        objectKey: record.objectKey,
        collection,
        pk,
        entry,
      }
    })
}

function parseObjectKey(objectKey: string, entry: ClientSyncLogEntry | null): [string, ObjectPk] {
  if (entry) {
    return [entry.collection, entry.pk]
  }
  try {
    const parsed = JSON.parse(objectKey)
    if (Array.isArray(parsed) && parsed.length === 2) return [String(parsed[0]), parsed[1]]
  } catch {
    // fall through
  }
  return ['', objectKey]
}

/** Objects with entries in the outgoing quarantine, each with the createdOn of its first one. */
export async function quarantinedObjects(context: OutgoingQuarantineContext): Promise<Map<string, number>> {
  const objects = new Map<string, number>()
  for (const record of await context.findRecords({})) {
    objects.set(record.objectKey, Math.min(objects.get(record.objectKey) ?? Infinity, Number(record.createdOn)))
  }
  return objects
}

/** The records of every object one of `ids` belongs to (all of them when `ids` is undefined). */
async function recordsOfObjects(context: OutgoingQuarantineContext, ids: string[] | undefined): Promise<StoredOutgoingQuarantinedEntry[]> {
  if (!ids) {
    return context.findRecords({})
  }
  const chosen = await context.findRecordsIn('id', ids)
  const objectKeys = [...new Set(chosen.map((record) => record.objectKey))]
  return objectKeys.length ? context.findRecordsIn('objectKey', objectKeys) : []
}

export async function releaseOutgoing(
  context: OutgoingQuarantineContext,
  options: { ids?: string[] },
): Promise<{ released: number; objectKeys: string[] }> {
  const records = await recordsOfObjects(context, options.ids)
  const ids = records.map((record) => record.id)
  await context.executeBatch(releaseSteps(ids))
  return { released: ids.length, objectKeys: [...new Set(records.map((record) => record.objectKey))] }
}

/** Steps that put quarantined entries back in line to be sent, and drop their records. */
function releaseSteps(ids: string[]): OperationBatch {
  return chunk(ids).flatMap((part) => [
    ...updateRowsSteps(CLIENT_SYNC_LOG_COLLECTION, part, { unshared: 1 }, { unshared: UNSHARED_QUARANTINED }),
    ...deleteRowsSteps(CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION, part),
  ])
}

export interface OutgoingDiscardPlan {
  /** The objects whose quarantined entries go; their local state must be rebuilt from what remains. */
  objects: Array<{ collection: string; pk: ObjectPk; objectKey: string }>
  /** Entry ids that the batch deletes. */
  entryIds: string[]
  /**
   * Deletes the quarantined entries and their records, and marks every
   * remaining entry of those objects as needing integration. Run it in one
   * `executeBatch` together with deleting the objects themselves: the next
   * integration then rebuilds each object from its remaining history.
   */
  batch: OperationBatch
}

export async function planOutgoingDiscard(
  context: OutgoingQuarantineContext,
  options: { ids?: string[] },
): Promise<OutgoingDiscardPlan> {
  const records = await recordsOfObjects(context, options.ids)
  const ids = records.map((record) => record.id)
  const objectKeys = [...new Set(records.map((record) => record.objectKey))]
  const stored = await context.findEntriesIn('objectKey', objectKeys)
  const objects = new Map<string, { collection: string; pk: ObjectPk; objectKey: string }>()
  for (const entry of context.revive(stored)) {
    const objectKey = getObjectKey(entry.collection, entry.pk)
    if (!objects.has(objectKey)) objects.set(objectKey, { collection: entry.collection, pk: entry.pk, objectKey })
  }
  const batch: OperationBatch = [
    ...chunk(ids).flatMap((part) => [
      ...deleteRowsSteps(CLIENT_SYNC_LOG_COLLECTION, part),
      ...deleteRowsSteps(CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION, part),
    ]),
    ...chunk(objectKeys).map((part) => ({
      operation: 'updateObjects' as const,
      collection: CLIENT_SYNC_LOG_COLLECTION,
      where: { objectKey: { $in: part } },
      updates: { needsIntegration: NEEDS_INTEGRATION },
    })),
  ]
  return { objects: [...objects.values()], entryIds: ids, batch }
}

/**
 * Settles quarantined entries that a later delete of their object made moot.
 * A delete wins over every earlier write, so no device's outcome depends on
 * what the object's quarantine holds before it, and this device already shows
 * the object deleted: those entries are dropped, and the held entries after
 * the delete go back in line to be sent, up to the next entry that was itself
 * refused. The deletes are those held in the quarantine, plus `deletes`
 * (unsent deletes the caller found waiting behind quarantined entries). One batch.
 */
export async function settleBehindDeletes(
  context: OutgoingQuarantineContext,
  deletes: Array<{ objectKey: string; createdOn: number }> = [],
): Promise<{ dropped: number; released: number }> {
  const listed = await listOutgoing(context)
  const byObject = new Map<string, OutgoingQuarantinedEntry[]>()
  for (const item of listed) {
    byObject.set(item.objectKey, [...(byObject.get(item.objectKey) ?? []), item])
  }
  const lastDelete = new Map<string, number>()
  for (const item of listed) {
    if (item.reason === 'HELD_BEHIND' && item.entry?.operation === 'delete') {
      lastDelete.set(item.objectKey, Math.max(lastDelete.get(item.objectKey) ?? -Infinity, item.entry.createdOn))
    }
  }
  for (const item of deletes) {
    lastDelete.set(item.objectKey, Math.max(lastDelete.get(item.objectKey) ?? -Infinity, item.createdOn))
  }
  const drop: string[] = []
  const release: string[] = []
  for (const [objectKey, deletedOn] of lastDelete) {
    const items = byObject.get(objectKey) ?? []
    const after = items.filter((item) => (item.entry?.createdOn ?? -Infinity) >= deletedOn)
    drop.push(...items.filter((item) => (item.entry?.createdOn ?? -Infinity) < deletedOn).map((item) => item.id))
    for (const item of after) {
      if (item.reason !== 'HELD_BEHIND') break
      release.push(item.id)
    }
  }
  if (!drop.length && !release.length) {
    return { dropped: 0, released: 0 }
  }
  await context.executeBatch([
    ...chunk(drop).flatMap((part) => [
      ...deleteRowsSteps(CLIENT_SYNC_LOG_COLLECTION, part, { unshared: UNSHARED_QUARANTINED }),
      ...deleteRowsSteps(CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION, part),
    ]),
    ...releaseSteps(release),
  ])
  return { dropped: drop.length, released: release.length }
}
