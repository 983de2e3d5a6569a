import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/logging-middleware`. Codes: `DEVICE_ID_MISSING`,
 * `UNKNOWN_COLLECTION`, `CLIENT_SYNC_LOG_NOT_REGISTERED`, `PK_MISSING`,
 * `UNRESOLVED_PLACEHOLDER`, `UNSUPPORTED_RELATIONSHIP`.
 */
export class SyncLoggingError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/logging-middleware', code, message, options)
  }
}
