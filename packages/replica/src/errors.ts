import { syncErrorClass } from '@storex-sync/errors'

export const REPLICA_PACKAGE = '@storex-sync/replica'

/**
 * What a program can switch on: `INVALID_OPTION` (a bad option of the
 * replica), `INVALID_ARGUMENT` (a bad argument of a call), `INVALID_CURSOR` (a
 * snapshot or read cursor this replica did not hand out), `REPLICA_BEHIND`
 * (the log compacted entries the replica had not integrated; rebuild it).
 */
export type ReplicaErrorCode = 'INVALID_OPTION' | 'INVALID_ARGUMENT' | 'INVALID_CURSOR' | 'REPLICA_BEHIND'

/** Errors of the replica. */
export class ReplicaError extends syncErrorClass<ReplicaErrorCode>(REPLICA_PACKAGE) {}
