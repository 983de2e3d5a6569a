import { SyncError } from '@storex-sync/errors'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type SyncLoggingErrorCode =
  | 'INVALID_OPTION'
  | 'DEVICE_ID_MISSING'
  | 'UNKNOWN_COLLECTION'
  | 'CLIENT_SYNC_LOG_NOT_REGISTERED'
  | 'PK_MISSING'
  | 'UNRESOLVED_PLACEHOLDER'
  | 'UNSUPPORTED_RELATIONSHIP'

/** Error thrown by `@storex-sync/logging-middleware`. */
export class SyncLoggingError extends SyncError<SyncLoggingErrorCode> {
  constructor(code: SyncLoggingErrorCode, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/logging-middleware', code, message, options)
  }
}
