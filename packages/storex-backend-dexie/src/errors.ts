import { syncErrorClass } from '@storex-sync/errors'

export const STOREX_BACKEND_DEXIE_PACKAGE = '@storex-sync/storex-backend-dexie'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type StorexBackendDexieErrorCode =
  | 'NOT_INITIALIZED'
  | 'INVALID_OPTION'
  | 'UNKNOWN_COLLECTION'
  | 'UNKNOWN_RELATIONSHIP'
  | 'UNSUPPORTED_INDEX'
  | 'UNSUPPORTED_QUERY'
  | 'BAD_BATCH'
  | 'MISSING_STEMMER'
  | 'DELETE_FAILED'

/** Error thrown by `@storex-sync/storex-backend-dexie`. */
export class StorexBackendDexieError extends syncErrorClass<StorexBackendDexieErrorCode>(STOREX_BACKEND_DEXIE_PACKAGE) {}
