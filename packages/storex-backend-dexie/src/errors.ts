import { SyncError } from '@storex-sync/errors'

export const STOREX_BACKEND_DEXIE_PACKAGE = '@storex-sync/storex-backend-dexie'

/**
 * Error thrown by `@storex-sync/storex-backend-dexie`. Codes:
 * `NOT_INITIALIZED`, `INVALID_OPTION`, `UNKNOWN_COLLECTION`,
 * `UNKNOWN_RELATIONSHIP`, `UNSUPPORTED_INDEX`, `UNSUPPORTED_QUERY`,
 * `MISSING_STEMMER`, `DELETE_FAILED`.
 */
export class StorexBackendDexieError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(STOREX_BACKEND_DEXIE_PACKAGE, code, message, options)
  }
}
