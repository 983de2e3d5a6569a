import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/shared-sync-log-http` (client, server helpers
 * and the command). Codes are listed in the package README's "Errors" table.
 */
export class SharedSyncLogHttpError extends SyncError {
  /** HTTP status of the response that caused the error, when there was one. */
  readonly status?: number

  constructor(code: string, message: string, options?: { cause?: unknown; status?: number }) {
    super('@storex-sync/shared-sync-log-http', code, message, options)
    if (options?.status !== undefined) {
      this.status = options.status
    }
  }
}
