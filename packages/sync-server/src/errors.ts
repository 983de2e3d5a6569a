import { syncErrorClass } from '@storex-sync/errors'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type SyncServerErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_DATABASE'
  | 'DATABASE_UNREACHABLE'
  | 'AUTH_FILE_INVALID'
  | 'AUTH_FILE_UNREADABLE'
  | 'SECRET_FILE_UNREADABLE'
  | 'BAD_HOST'
  | 'PORT_FORBIDDEN'
  | 'PORT_IN_USE'

/**
 * Error thrown by `@storex-sync/sync-server` (server set-up, storages and the
 * `storex-sync-server` command).
 */
export class SyncServerError extends syncErrorClass<SyncServerErrorCode>('@storex-sync/sync-server') {}
