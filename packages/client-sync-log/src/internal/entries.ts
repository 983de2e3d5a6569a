import type { StorageRegistry } from '@worldbrain/storex'
import stringify from 'safe-stable-stringify'
import { ClientSyncLogError } from '../errors'
import { checkEntry, type EntryCheckOptions } from '../entry-check'
import { getObjectKey } from '../pk'
import type { ClientSyncLogEntry, DeviceId } from '../types'
import type { StoredLogEntry } from './schema'

/** The stored `id` of the entry written by `deviceId` at `createdOn`. */
export function getEntryId(deviceId: DeviceId, createdOn: number): string {
  // Plain JSON.stringify gives the same text for strings and numbers, at a fraction of the cost
  // (a bootstrap computes hundreds of thousands of these).
  if ((typeof deviceId === 'string' || typeof deviceId === 'number') && typeof createdOn === 'number') {
    return JSON.stringify([deviceId, createdOn])
  }
  return stringify([deviceId, createdOn])!
}

/** createdOn ascending, ties by deviceId: numbers before strings, numbers numerically, strings by code units. */
export function compareEntries(
  a: Pick<ClientSyncLogEntry, 'createdOn' | 'deviceId'>,
  b: Pick<ClientSyncLogEntry, 'createdOn' | 'deviceId'>,
): number {
  if (a.createdOn !== b.createdOn) {
    return a.createdOn < b.createdOn ? -1 : 1
  }
  const aNumber = typeof a.deviceId === 'number'
  const bNumber = typeof b.deviceId === 'number'
  if (aNumber !== bNumber) {
    return aNumber ? -1 : 1
  }
  if (a.deviceId === b.deviceId) {
    return 0
  }
  return (a.deviceId as any) < (b.deviceId as any) ? -1 : 1
}

/** Strings by code units (not locale): the same order on every device. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Throws a ClientSyncLogError when `checkEntry` finds a problem (own entries: no drift bound, the writer's clock is the reference). */
export function validateEntry(entry: unknown, what: string | (() => string), options: EntryCheckOptions = {}): void {
  const problem = checkEntry(entry as Parameters<typeof checkEntry>[0], options)
  if (problem) {
    const code = problem.reason === 'UNDECODABLE_ENTRY' ? 'INVALID_ENTRY' : problem.reason
    throw new ClientSyncLogError(
      code,
      `${typeof what === 'function' ? what() : what}: ${problem.message}. Log entries carry a clock value from nextTimestamps(), a device id, an operation ` +
        `('create', 'modify' or 'delete'), a registered collection, its pk and (but for deletes) a value object; set aside entries you cannot decode before inserting them.`,
    )
  }
}

export function toStoredEntry(entry: ClientSyncLogEntry, id = getEntryId(entry.deviceId, entry.createdOn)): StoredLogEntry {
  const stored: StoredLogEntry = {
    id,
    createdOn: entry.createdOn,
    sharedOn: entry.sharedOn ?? null,
    unshared: entry.sharedOn == null ? 1 : 0,
    needsIntegration: entry.needsIntegration ? 1 : 0,
    deviceId: entry.deviceId,
    collection: entry.collection,
    objectKey: getObjectKey(entry.collection, entry.pk),
    pk: entry.pk,
    operation: entry.operation,
  }
  if (entry.operation !== 'delete') {
    stored.value = entry.value
  }
  if (stored.sharedOn === null) {
    delete stored.sharedOn
  }
  return stored
}

/**
 * Serialization (JSON in the log's json columns, or on the wire) turns Dates
 * into strings or numbers; the schema says which fields are dates, so they
 * are turned back. Values that are not valid dates are left as they are.
 */
export function reviveDateFields(storageRegistry: StorageRegistry, collection: string, value: Record<string, unknown>) {
  const fields = storageRegistry.collections[collection]?.fields
  if (!fields) {
    return value
  }
  const revived: Record<string, unknown> = { ...value }
  for (const [field, fieldValue] of Object.entries(value)) {
    if (fields[field]?.type === 'datetime' && (typeof fieldValue === 'string' || typeof fieldValue === 'number')) {
      const date = new Date(fieldValue)
      if (!Number.isNaN(date.getTime())) {
        revived[field] = date
      }
    }
  }
  return revived
}

export function fromStoredEntry(storageRegistry: StorageRegistry, stored: StoredLogEntry): ClientSyncLogEntry {
  const common = {
    createdOn: Number(stored.createdOn),
    sharedOn: stored.sharedOn == null ? null : Number(stored.sharedOn),
    deviceId: stored.deviceId as DeviceId,
    needsIntegration: Number(stored.needsIntegration) !== 0,
    collection: stored.collection,
    pk: stored.pk,
  }
  if (stored.operation === 'delete') {
    return { ...common, operation: 'delete' }
  }
  const value = reviveDateFields(storageRegistry, stored.collection, (stored.value ?? {}) as Record<string, unknown>)
  return { ...common, operation: stored.operation as 'create' | 'modify', value }
}
