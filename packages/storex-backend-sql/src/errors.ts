import { SyncError } from '@storex-sync/errors'

export const PACKAGE_NAME = '@storex-sync/storex-backend-sql'

/**
 * Thrown by the SQL backend. `code` says what went wrong:
 * `NOT_CONFIGURED`, `UNKNOWN_COLLECTION`, `UNKNOWN_FIELD`, `UNSUPPORTED_OPERATOR`,
 * `BAD_QUERY`, `MISSING_PK`, `DUPLICATE_PK`, `BAD_BATCH`, `MIGRATION_FAILED`, `CLOSED`.
 */
export class StorexBackendSqlError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(PACKAGE_NAME, code, message, options)
  }
}
