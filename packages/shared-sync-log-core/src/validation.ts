import { SharedSyncLogError } from './errors'
import type { SharedSyncLogEntryInput, SharedSyncLogMemo, UserId } from './types'

/**
 * Helpers every implementation of `SharedSyncLog` can share, so that they
 * reject the same bad input with the same errors.
 */

/** Throws `INVALID_ARGUMENT` unless `userId` is a non-empty string or a finite number. */
export function validateUserId(userId: unknown): asserts userId is UserId {
  if (!((typeof userId === 'string' && userId.length > 0) || (typeof userId === 'number' && Number.isFinite(userId)))) {
    throw new SharedSyncLogError(
      'INVALID_ARGUMENT',
      `userId must be a non-empty string or a finite number, got ${describe(userId)}; pass the id of the signed-in user`,
    )
  }
}

/** Throws `INVALID_ARGUMENT` unless `batchSize` is undefined or a positive integer. */
export function validateBatchSize(batchSize: unknown): asserts batchSize is number | undefined {
  if (batchSize === undefined) {
    return
  }
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new SharedSyncLogError(
      'INVALID_ARGUMENT',
      `batchSize must be a positive integer, got ${describe(batchSize)}; leave it out to receive all entries at once`,
    )
  }
}

/**
 * Throws `INVALID_ARGUMENT` unless `entries` is an array of
 * `{ createdOn: finite number, data: string }`.
 */
export function validateEntryInputs(entries: unknown): asserts entries is SharedSyncLogEntryInput[] {
  if (!Array.isArray(entries)) {
    throw new SharedSyncLogError(
      'INVALID_ARGUMENT',
      `writeEntries() needs an array of entries, got ${describe(entries)}`,
    )
  }
  entries.forEach((entry, index) => {
    if (entry === null || typeof entry !== 'object') {
      throw new SharedSyncLogError('INVALID_ARGUMENT', `entry ${index} is ${describe(entry)}, not an object { createdOn, data }`)
    }
    const { createdOn, data } = entry as Record<string, unknown>
    if (typeof createdOn !== 'number' || !Number.isFinite(createdOn)) {
      throw new SharedSyncLogError(
        'INVALID_ARGUMENT',
        `entry ${index} has createdOn ${describe(createdOn)}; it must be a finite number (the device's clock value)`,
      )
    }
    if (typeof data !== 'string') {
      throw new SharedSyncLogError(
        'INVALID_ARGUMENT',
        `entry ${index} has data of type ${describe(data)}; serialize it to a string before writing`,
      )
    }
  })
}

/** The memo of the logs that order entries by an integer sequence: `{ sequence }`. */
export function createSequenceMemo(sequence: number): SharedSyncLogMemo {
  return { sequence }
}

/** Reads a memo made by `createSequenceMemo()`; throws `INVALID_MEMO` for anything else. */
export function readSequenceMemo(memo: unknown): number {
  const sequence = memo !== null && typeof memo === 'object' ? (memo as { sequence?: unknown }).sequence : undefined
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw SharedSyncLogError.invalidMemo(memo)
  }
  return sequence
}

/**
 * The key under which an entry is deduplicated: the same (user, device,
 * createdOn) is the same entry. User ids are compared by their string form.
 */
export function entryIdentityKey(userId: UserId, deviceId: string | number, createdOn: number): string {
  return JSON.stringify([String(userId), deviceId, createdOn])
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}
