import type { StorageRegistry } from '@worldbrain/storex'
import { HLC_TICKS_PER_MS } from './clock'
import { getPkFields } from './pk'

/**
 * Why an entry cannot be used:
 * - `UNDECODABLE_ENTRY`: the serializer could not turn its data into an entry;
 * - `UNKNOWN_COLLECTION`: it names a collection this device has not registered;
 * - `UNKNOWN_FIELD`: it sets a field the collection has not here (a newer app version wrote it);
 * - `UNKNOWN_OPERATION`: its operation is not 'create', 'modify' or 'delete';
 * - `INVALID_PK`: its pk does not fit the collection's pk fields (wrong type, missing, wrong arity);
 * - `CLOCK_OUT_OF_RANGE`: its createdOn is not a safe non-negative integer, or lies further ahead
 *   of this device's wall clock than the maximum clock drift;
 * - `INVALID_ENTRY`: anything else that makes it unusable (no value object, bad deviceId or collection).
 */
export type EntryProblemReason =
  | 'UNDECODABLE_ENTRY'
  | 'UNKNOWN_COLLECTION'
  | 'UNKNOWN_FIELD'
  | 'UNKNOWN_OPERATION'
  | 'INVALID_PK'
  | 'CLOCK_OUT_OF_RANGE'
  | 'INVALID_ENTRY'

export interface EntryProblem {
  reason: EntryProblemReason
  /** What exactly is wrong, for a human (no package prefix). */
  message: string
}

/**
 * How far ahead of a receiver's wall clock a received createdOn may lie: 24
 * hours. The hybrid logical clock keeps causality for any offset below it
 * (devices move past what they receive), so the bound only has to stop
 * broken clocks (year 3000, 2^53) from exhausting every device's clock.
 * Entries beyond it are quarantined and retried by every later sync, so a
 * device whose clock runs a day ahead loses nothing: its entries are applied
 * once the receivers' wall clocks catch up.
 */
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 24 * 60 * 60 * 1000

export interface EntryCheckOptions {
  /** The receiver's schema; without it, collections and pk types are not checked. */
  storageRegistry?: StorageRegistry
  /** The receiver's wall clock (ms); without it, createdOn is only checked to be a safe non-negative integer. */
  now?: number
  /** How far ahead of `now` a createdOn may lie (ms). Default DEFAULT_MAX_CLOCK_DRIFT_MS. */
  maxClockDriftMs?: number
  /** Check that every field a value sets is registered (UNKNOWN_FIELD). Default true when a registry is given. */
  checkFields?: boolean
}

const OPERATIONS = new Set(['create', 'modify', 'delete'])
const NUMBER_PK_TYPES = new Set(['int', 'float'])
const STRING_PK_TYPES = new Set(['string', 'text'])

/** The greatest createdOn a device whose wall clock reads `now` accepts. */
export function maxAcceptedClockValue(now: number, maxClockDriftMs = DEFAULT_MAX_CLOCK_DRIFT_MS): number {
  return Math.floor(now + maxClockDriftMs) * HLC_TICKS_PER_MS + (HLC_TICKS_PER_MS - 1)
}

/**
 * Checks one clock value (an entry's createdOn): a safe non-negative integer,
 * and, when `now` is given, no further ahead of it than the maximum drift.
 * The sync server runs this on every entry it accepts.
 */
export function checkClockValue(createdOn: unknown, options: Pick<EntryCheckOptions, 'now' | 'maxClockDriftMs'> = {}): EntryProblem | null {
  if (typeof createdOn !== 'number' || !Number.isSafeInteger(createdOn) || createdOn < 0) {
    return {
      reason: 'CLOCK_OUT_OF_RANGE',
      message: `createdOn is ${JSON.stringify(createdOn) ?? String(createdOn)}, not a safe non-negative integer (a clock value from nextTimestamps())`,
    }
  }
  if (options.now !== undefined) {
    const drift = options.maxClockDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS
    if (createdOn > maxAcceptedClockValue(options.now, drift)) {
      const aheadMs = Math.floor(createdOn / HLC_TICKS_PER_MS) - options.now
      return {
        reason: 'CLOCK_OUT_OF_RANGE',
        message: `createdOn ${createdOn} lies ${Math.round(aheadMs / 60_000)} minutes ahead of the receiver's clock, more than the maximum drift of ${Math.round(drift / 60_000)} minutes (the writing device's clock is wrong, or the receiver's)`,
      }
    }
  }
  return null
}

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

function pkProblem(storageRegistry: StorageRegistry | undefined, collection: string, pk: unknown): EntryProblem | null {
  const definition = storageRegistry?.collections[collection]
  if (!storageRegistry || !definition) {
    return pk === null || pk === undefined ? { reason: 'INVALID_PK', message: 'the pk is missing' } : null
  }
  const pkFields = getPkFields(storageRegistry, collection)
  const fieldType = (field: string) => definition.fields[field]?.type as string | undefined
  if (pkFields.length === 1) {
    const problem = pkValueProblem(fieldType(pkFields[0]!), pk)
    return problem ? { reason: 'INVALID_PK', message: `the pk of '${collection}' (${pkFields[0]}) ${problem}` } : null
  }
  if (!Array.isArray(pk) || pk.length !== pkFields.length) {
    return {
      reason: 'INVALID_PK',
      message: `the pk of '${collection}' must be an array of ${pkFields.length} values (${pkFields.join(', ')}), got ${JSON.stringify(pk)}`,
    }
  }
  for (const [index, field] of pkFields.entries()) {
    const problem = pkValueProblem(fieldType(field), pk[index])
    if (problem) {
      return { reason: 'INVALID_PK', message: `pk field ${field} of '${collection}' ${problem}` }
    }
  }
  return null
}

/**
 * The one check of a log entry, used wherever entries cross a boundary: the
 * logging middleware (own writes), doSync (received entries are quarantined
 * with the reason), the reconciler, and the sync server (its clock part).
 * Returns why the entry cannot be used, or `null` when it is fine. Pure: it
 * reads nothing but its arguments.
 */
export function checkEntry(
  entry: { deviceId?: unknown; createdOn?: unknown; operation?: unknown; collection?: unknown; pk?: unknown; value?: unknown },
  options: EntryCheckOptions = {},
): EntryProblem | null {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    return { reason: 'UNDECODABLE_ENTRY', message: `the entry is ${JSON.stringify(entry)}, not an object` }
  }
  const clockProblem = checkClockValue(entry.createdOn, options)
  if (clockProblem) {
    return clockProblem
  }
  const deviceId = entry.deviceId
  if (!((typeof deviceId === 'string' && deviceId !== '') || (typeof deviceId === 'number' && Number.isFinite(deviceId)))) {
    return { reason: 'INVALID_ENTRY', message: `deviceId is ${JSON.stringify(deviceId)}, not a non-empty string or a finite number` }
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
  if (options.storageRegistry && !options.storageRegistry.collections[entry.collection]) {
    return {
      reason: 'UNKNOWN_COLLECTION',
      message: `collection '${entry.collection}' is not registered on this device (written by a newer app version?); the entry is applied once an app update registers it`,
    }
  }
  if (entry.operation !== 'delete') {
    const value = entry.value
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      return { reason: 'INVALID_ENTRY', message: `a ${entry.operation} entry needs a value object, got ${JSON.stringify(value)}` }
    }
    const definition = options.storageRegistry?.collections[entry.collection]
    if (definition && options.checkFields !== false) {
      const known = (field: string) => field in (definition.fields ?? {}) || field in ((definition as { relationshipsByAlias?: object }).relationshipsByAlias ?? {})
      const unknown = Object.keys(value).filter((field) => !known(field))
      if (unknown.length) {
        return {
          reason: 'UNKNOWN_FIELD',
          message: `field${unknown.length > 1 ? 's' : ''} ${unknown.map((field) => `'${field}'`).join(', ')} of '${entry.collection}' ${unknown.length > 1 ? 'are' : 'is'} not registered on this device (written by a newer app version?); the entry is applied once an app update registers ${unknown.length > 1 ? 'them' : 'it'}`,
        }
      }
    }
  }
  return pkProblem(options.storageRegistry, entry.collection, entry.pk)
}
