import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import type { SyncReplica } from './replica'

export interface WithReplicaOptions {
  /** Told when the replica failed to catch up after a write (the write itself succeeded; the next write retries). */
  onCatchUpError?: (error: unknown) => void
}

/**
 * The shared log with a replica beside it, in one process (tests, single-
 * process apps, the simulation): every accepted write is integrated by the
 * replica before the call returns, `getSnapshotPage` serves the replica's
 * snapshot, and `compact` compacts below what the replica has integrated.
 */
export function withReplica(sharedSyncLog: SharedSyncLog, replica: SyncReplica, options: WithReplicaOptions = {}): SharedSyncLog {
  const wrapped: SharedSyncLog = {
    createDeviceId: (args) => sharedSyncLog.createDeviceId(args),
    getDeviceInfo: (args) => sharedSyncLog.getDeviceInfo(args),
    async writeEntries(entries, args) {
      await sharedSyncLog.writeEntries(entries, args)
      try {
        await replica.catchUp(args.userId)
      } catch (error) {
        options.onCatchUpError?.(error)
      }
    },
    getUnsyncedEntries: (args) => sharedSyncLog.getUnsyncedEntries(args),
    markAsSeen: (update, args) => sharedSyncLog.markAsSeen(update, args),
    getSnapshotPage: (args) => replica.getSnapshotPage(args),
    compact: (args) => replica.compact(args),
  }
  if (sharedSyncLog.getLimits) wrapped.getLimits = () => sharedSyncLog.getLimits!()
  if (sharedSyncLog.getServerTime) wrapped.getServerTime = () => sharedSyncLog.getServerTime!()
  return wrapped
}
