import { syncErrorClass } from '@storex-sync/errors'

export const PACKAGE_NAME = '@storex-sync/storex-backend-sql'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type StorexBackendSqlErrorCode =
  | 'NOT_CONFIGURED'
  | 'UNKNOWN_COLLECTION'
  | 'UNKNOWN_FIELD'
  | 'UNSUPPORTED_OPERATOR'
  | 'BAD_QUERY'
  | 'MISSING_PK'
  | 'DUPLICATE_PK'
  | 'BAD_BATCH'
  | 'MIGRATION_FAILED'
  | 'CLOSED'

/** Thrown by the SQL backend. */
export class StorexBackendSqlError extends syncErrorClass<StorexBackendSqlErrorCode>(PACKAGE_NAME) {}
