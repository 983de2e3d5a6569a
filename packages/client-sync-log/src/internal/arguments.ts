import { ClientSyncLogError } from '../errors'

/** Throws INVALID_ARGUMENT unless the option is unset or a positive integer (batch sizes, object counts). */
export function checkPositiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ClientSyncLogError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${JSON.stringify(value)}.`)
  }
}

/** Throws INVALID_ARGUMENT unless nextTimestamps() was asked for a whole number of values. */
export function checkTimestampCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) {
    throw new ClientSyncLogError('INVALID_ARGUMENT', `nextTimestamps(count) needs a count >= 0, got ${JSON.stringify(count)}.`)
  }
}
