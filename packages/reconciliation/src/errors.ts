import { syncErrorClass } from '@storex-sync/errors'
import type { EntryProblemReason } from '@storex-sync/client-sync-log'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type ReconciliationErrorCode =
  | 'INVALID_OPTION'
  | 'DOUBLE_CREATE'
  /** An entry the reconciler cannot use, with client-sync-log's reason (an undecodable one is `INVALID_ENTRY` here). */
  | Exclude<EntryProblemReason, 'UNDECODABLE_ENTRY'>

/** Error thrown by `@storex-sync/reconciliation`. */
export class ReconciliationError extends syncErrorClass<ReconciliationErrorCode>('@storex-sync/reconciliation') {}
