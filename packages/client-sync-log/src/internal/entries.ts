import type { StorageRegistry } from '@worldbrain/storex'
import stringify from 'safe-stable-stringify'
import { ClientSyncLogError } from '../errors'
import { getObjectKey } from '../pk'
import type { ClientSyncLogEntry, DeviceId } from '../types'
import type { StoredLogEntry } from './schema'

const OPERATIONS = new Set(['create', 'modify', 'delete'])

/** The stored `id` of the entry written by `deviceId` at `createdOn`. */
export function getEntryId(deviceId: DeviceId, createdOn: number): string {
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

export function validateEntry(entry: Partial<ClientSyncLogEntry> & { operation?: unknown }, what: string): void {
  if (!entry || typeof entry !== 'object') {
    throw new ClientSyncLogError('INVALID_ENTRY', `${what} is not an object. Pass log entries as plain objects.`)
  }
  if (typeof entry.operation !== 'string' || !OPERATIONS.has(entry.operation)) {
    throw new ClientSyncLogError(
      'UNKNOWN_OPERATION',
      `${what} has unknown operation ${JSON.stringify(entry.operation)} (collection ${JSON.stringify(entry.collection)}). ` +
        `Entries must have operation 'create', 'modify' or 'delete'; set aside entries you cannot decode before inserting them.`,
    )
  }
  if (typeof entry.createdOn !== 'number' || !Number.isFinite(entry.createdOn)) {
    throw new ClientSyncLogError(
      'INVALID_ENTRY',
      `${what} has createdOn ${JSON.stringify(entry.createdOn)}; it must be a finite number (a clock value from nextTimestamps()).`,
    )
  }
  if (typeof entry.deviceId !== 'string' && typeof entry.deviceId !== 'number') {
    throw new ClientSyncLogError(
      'INVALID_ENTRY',
      `${what} has deviceId ${JSON.stringify(entry.deviceId)}; it must be a string or a number.`,
    )
  }
  if (typeof entry.collection !== 'string' || !entry.collection) {
    throw new ClientSyncLogError('INVALID_ENTRY', `${what} has no collection name; every entry names the collection it changes.`)
  }
  if (entry.operation !== 'delete') {
    const value = (entry as { value?: unknown }).value
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new ClientSyncLogError(
        'INVALID_ENTRY',
        `${what} (${entry.operation} of ${entry.collection}) has no value object; create and modify entries carry a map of fields.`,
      )
    }
  }
}

export function toStoredEntry(entry: ClientSyncLogEntry): StoredLogEntry {
  const stored: StoredLogEntry = {
    id: getEntryId(entry.deviceId, entry.createdOn),
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
