import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import stringify from 'safe-stable-stringify'
import { getPkFields } from './pk'
import type { DeviceId } from './types'

export const CLIENT_SYNC_LOG_QUARANTINE_COLLECTION = 'clientSyncLogQuarantine'

/**
 * Why a received entry was set aside instead of stored in the log:
 * - `UNDECODABLE_ENTRY`: the serializer could not turn its data into an entry;
 * - `UNKNOWN_COLLECTION`: it names a collection this device has not registered;
 * - `UNKNOWN_OPERATION`: its operation is not 'create', 'modify' or 'delete';
 * - `INVALID_PK`: its pk does not fit the collection's pk fields (wrong type, missing, wrong arity);
 * - `INVALID_ENTRY`: anything else that makes it unusable (no value object, bad createdOn or deviceId).
 */
export type QuarantineReason = 'UNDECODABLE_ENTRY' | 'UNKNOWN_COLLECTION' | 'UNKNOWN_OPERATION' | 'INVALID_PK' | 'INVALID_ENTRY'

/** A received entry set aside, as you pass it to `quarantineEntries()`. */
export interface QuarantineEntryInput {
  deviceId: DeviceId
  createdOn: number
  reason: QuarantineReason
  /** What exactly was wrong, for a human. */
  message: string
  /** The entry as the shared log delivered it (its `data` still serialized), so it can be decoded again later. */
  raw: unknown
}

/** A quarantined entry as `getQuarantinedEntries()` returns it. */
export interface QuarantinedEntry extends QuarantineEntryInput {
  /** Deterministic from deviceId + createdOn: a re-delivered entry is quarantined once. */
  id: string
  /** Wall-clock ms at which it was (last) set aside. */
  quarantinedOn: number
}

/** How a quarantined entry is stored (`raw` as json, never queried). */
export interface StoredQuarantinedEntry {
  id: string
  deviceId: unknown
  createdOn: number
  reason: string
  message: string
  raw: unknown
  quarantinedOn: number
}

export const clientSyncLogQuarantineCollection: CollectionDefinition = {
  version: new Date('2025-01-01'),
  fields: {
    id: { type: 'string' },
    deviceId: { type: 'json' },
    createdOn: { type: 'float' },
    reason: { type: 'string' },
    message: { type: 'text' },
    raw: { type: 'json' },
    quarantinedOn: { type: 'float' },
  },
  indices: [{ field: 'id', pk: true }, { field: 'quarantinedOn' }],
}

/** The quarantine id of an entry: like the log's entry id, but tolerant of broken deviceId/createdOn. */
export function getQuarantineId(deviceId: unknown, createdOn: unknown): string {
  return stringify(['quarantine', deviceId ?? null, typeof createdOn === 'number' && Number.isFinite(createdOn) ? createdOn : String(createdOn)])!
}

const OPERATIONS = new Set(['create', 'modify', 'delete'])

const NUMBER_PK_TYPES = new Set(['int', 'float'])
const STRING_PK_TYPES = new Set(['string', 'text'])

function pkValueProblem(fieldType: string | undefined, value: unknown): string | null {
  if (value === null || value === undefined) {
    return 'is missing'
  }
  const isNumber = typeof value === 'number' && Number.isFinite(value)
  const isString = typeof value === 'string' && value.length > 0
  if (fieldType && NUMBER_PK_TYPES.has(fieldType)) {
    return isNumber ? null : `is ${JSON.stringify(value)}, not a number`
  }
  if (fieldType && STRING_PK_TYPES.has(fieldType)) {
    return isString ? null : `is ${JSON.stringify(value)}, not a non-empty string`
  }
  // auto-pk (string ids from custom-pk, or numbers) and anything else: a plain scalar.
  return isNumber || isString ? null : `is ${JSON.stringify(value)}, not a string or number`
}

/**
 * Checks an entry received from the shared log against this device's schema.
 * Returns why it cannot be stored (a reason and a message), or `null` when it
 * is fine. Used by `doSync` to quarantine bad entries instead of failing.
 */
export function findReceivedEntryProblem(
  storageRegistry: StorageRegistry | undefined,
  entry: { deviceId?: unknown; createdOn?: unknown; operation?: unknown; collection?: unknown; pk?: unknown; value?: unknown },
): { reason: QuarantineReason; message: string } | null {
  if (!entry || typeof entry !== 'object') {
    return { reason: 'UNDECODABLE_ENTRY', message: `the entry data is ${JSON.stringify(entry)}, not an object` }
  }
  if (typeof entry.createdOn !== 'number' || !Number.isFinite(entry.createdOn)) {
    return { reason: 'INVALID_ENTRY', message: `createdOn is ${JSON.stringify(entry.createdOn)}, not a finite number` }
  }
  if ((typeof entry.deviceId !== 'string' && typeof entry.deviceId !== 'number') || entry.deviceId === '') {
    return { reason: 'INVALID_ENTRY', message: `deviceId is ${JSON.stringify(entry.deviceId)}, not a string or number` }
  }
  if (typeof entry.operation !== 'string' || !OPERATIONS.has(entry.operation)) {
    return {
      reason: 'UNKNOWN_OPERATION',
      message: `operation ${JSON.stringify(entry.operation)} is not 'create', 'modify' or 'delete' (written by a newer app version?)`,
    }
  }
  if (typeof entry.collection !== 'string' || !entry.collection) {
    return { reason: 'INVALID_ENTRY', message: `collection is ${JSON.stringify(entry.collection)}, not a collection name` }
  }
  const definition = storageRegistry?.collections[entry.collection]
  if (storageRegistry && !definition) {
    return {
      reason: 'UNKNOWN_COLLECTION',
      message: `collection '${entry.collection}' is not registered on this device (written by a newer app version?)`,
    }
  }
  if (entry.operation !== 'delete') {
    const value = entry.value
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      return { reason: 'INVALID_ENTRY', message: `a ${entry.operation} entry needs a value object, got ${JSON.stringify(value)}` }
    }
  }
  if (storageRegistry && definition) {
    const pkFields = getPkFields(storageRegistry, entry.collection)
    const fieldType = (field: string) => definition.fields[field]?.type as string | undefined
    if (pkFields.length === 1) {
      const problem = pkValueProblem(fieldType(pkFields[0]!), entry.pk)
      if (problem) {
        return { reason: 'INVALID_PK', message: `the pk of '${entry.collection}' (${pkFields[0]}) ${problem}` }
      }
    } else {
      if (!Array.isArray(entry.pk) || entry.pk.length !== pkFields.length) {
        return {
          reason: 'INVALID_PK',
          message: `the pk of '${entry.collection}' must be an array of ${pkFields.length} values (${pkFields.join(', ')}), got ${JSON.stringify(entry.pk)}`,
        }
      }
      for (const [index, field] of pkFields.entries()) {
        const problem = pkValueProblem(fieldType(field), (entry.pk as unknown[])[index])
        if (problem) {
          return { reason: 'INVALID_PK', message: `pk field ${field} of '${entry.collection}' ${problem}` }
        }
      }
    }
  } else if (entry.pk === null || entry.pk === undefined) {
    return { reason: 'INVALID_PK', message: 'the pk is missing' }
  }
  return null
}

export function toStoredQuarantinedEntry(entry: QuarantineEntryInput, quarantinedOn: number): StoredQuarantinedEntry {
  return {
    id: getQuarantineId(entry.deviceId, entry.createdOn),
    deviceId: entry.deviceId ?? null,
    createdOn: typeof entry.createdOn === 'number' && Number.isFinite(entry.createdOn) ? entry.createdOn : 0,
    reason: entry.reason,
    message: entry.message,
    raw: entry.raw ?? null,
    quarantinedOn,
  }
}

export function fromStoredQuarantinedEntry(stored: StoredQuarantinedEntry): QuarantinedEntry {
  return {
    id: stored.id,
    deviceId: stored.deviceId as DeviceId,
    createdOn: Number(stored.createdOn),
    reason: stored.reason as QuarantineReason,
    message: stored.message,
    raw: stored.raw,
    quarantinedOn: Number(stored.quarantinedOn),
  }
}
