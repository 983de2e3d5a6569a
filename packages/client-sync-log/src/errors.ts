import { syncErrorClass } from '@storex-sync/errors'
import type { EntryProblemReason } from './entry-check'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type ClientSyncLogErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_ARGUMENT'
  /** An entry insertEntries() cannot store, with checkEntry's reason (an undecodable one is `INVALID_ENTRY` here). */
  | Exclude<EntryProblemReason, 'UNDECODABLE_ENTRY'>
  | 'DUPLICATE_ENTRY'
  | 'CLOCK_EXHAUSTED'
  | 'BACKEND_CANNOT_DELETE'

/** Error thrown by `@storex-sync/client-sync-log`. */
export class ClientSyncLogError extends syncErrorClass<ClientSyncLogErrorCode>('@storex-sync/client-sync-log') {}
