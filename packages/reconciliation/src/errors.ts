import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/reconciliation`. Codes: `UNKNOWN_COLLECTION`,
 * `UNKNOWN_OPERATION`, `DOUBLE_CREATE`, `INVALID_OPTIONS`.
 */
export class ReconciliationError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/reconciliation', code, message, options)
  }
}
