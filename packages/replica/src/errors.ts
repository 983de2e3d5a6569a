import { SyncError } from '@storex-sync/errors'

export const REPLICA_PACKAGE = '@storex-sync/replica'

/**
 * Errors of the replica. Codes: `INVALID_ARGUMENT` (a bad option or
 * argument), `INVALID_CURSOR` (a snapshot or read cursor this replica did not
 * hand out), `REPLICA_BEHIND` (the log compacted entries the replica had not
 * integrated; rebuild it).
 */
export class ReplicaError extends SyncError {
  constructor(code: 'INVALID_ARGUMENT' | 'INVALID_CURSOR' | 'REPLICA_BEHIND', message: string, options?: { cause?: unknown }) {
    super(REPLICA_PACKAGE, code, message, options)
  }
}
