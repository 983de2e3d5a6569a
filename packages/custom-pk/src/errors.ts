import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/custom-pk`. Codes: `UNKNOWN_COLLECTION`,
 * `UNSUPPORTED_PK`, `SETUP_NOT_CALLED`, `INVALID_PK`, `UNSUPPORTED_RELATIONSHIP`.
 */
export class CustomPkError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/custom-pk', code, message, options)
  }
}
