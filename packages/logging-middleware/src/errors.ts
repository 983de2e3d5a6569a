import { syncErrorClass } from '@storex-sync/errors'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type SyncLoggingErrorCode =
  | 'DEVICE_ID_MISSING'
  | 'UNKNOWN_COLLECTION'
  | 'CLIENT_SYNC_LOG_NOT_REGISTERED'
  | 'PK_MISSING'
  | 'UNRESOLVED_PLACEHOLDER'
  | 'UNSUPPORTED_RELATIONSHIP'

/** Error thrown by `@storex-sync/logging-middleware`. */
export class SyncLoggingError extends syncErrorClass<SyncLoggingErrorCode>('@storex-sync/logging-middleware') {}
