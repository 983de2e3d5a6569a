import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/client-sync-log`. Codes: `UNKNOWN_OPERATION`,
 * `INVALID_ENTRY`, `INVALID_ARGUMENT`,
 * `BACKEND_CANNOT_DELETE`.
 */
export class ClientSyncLogError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/client-sync-log', code, message, options)
  }
}
