import { StorexBackendSqlError } from '../errors'

const DUPLICATE_PATTERNS = [/UNIQUE constraint failed/i, /duplicate key/i, /Duplicate entry/i, /PRIMARY KEY constraint/i]
/** PostgreSQL's unique_violation and mysql2's duplicate entry codes. */
const DUPLICATE_CODES = new Set(['23505', 'ER_DUP_ENTRY'])

/** A driver's duplicate key error as `DUPLICATE_PK`; any other error as it is. */
export function translateDriverError(error: unknown, collection: string): unknown {
  const message = (error as Error)?.message ?? ''
  if (DUPLICATE_PATTERNS.some((pattern) => pattern.test(message)) || DUPLICATE_CODES.has((error as any)?.code)) {
    return new StorexBackendSqlError(
      'DUPLICATE_PK',
      `an object in ${collection} already has this primary key or unique value (${message}); update it instead of creating it again`,
      { cause: error },
    )
  }
  return error
}
