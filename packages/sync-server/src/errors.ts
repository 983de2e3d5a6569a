import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/sync-server` (server set-up, storages and the
 * `storex-sync-server` command). Codes are listed in the package README's
 * "Errors" table.
 */
export class SyncServerError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/sync-server', code, message, options)
  }
}
