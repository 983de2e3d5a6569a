import type { FastifyBaseLogger } from 'fastify'
import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import type { SyncReplica } from '@storex-sync/replica'
import { CompactionScheduler, compactAllUsers, type CompactionPassResult } from './compaction'
import type { SyncObserver } from './operations'
import type { UserLock } from './postgres-lock'
import { DEFAULT_COMPACTION_INTERVAL_MS, DEFAULT_RETENTION_MS, ReplicaFollower, type ServerReplicaOptions } from './replica-setup'

export interface AttachedReplica {
  replica: SyncReplica
  /** The log as the routes use it: writes wake the replica, snapshots and compaction go through it. */
  sharedSyncLog: SharedSyncLog
  /** Resolves when no catch-up after a write runs or waits. */
  idle(): Promise<void>
  /** One compaction pass of every user the replica knows, now. */
  compactNow(): Promise<CompactionPassResult>
  /** Stops the schedule, waits for the running catch-ups and compaction; then the databases may close. */
  close(): Promise<void>
}

/**
 * The replica beside the server's log: after each accepted write the user's
 * replica catches up (in the background, one user at a time, under the
 * user's lock); `getSnapshotPage` is served by the replica (the first page
 * catches up under that lock); compaction runs through the replica, on a
 * schedule, so the log never deletes what the replica has not integrated.
 */
export function attachReplica(
  log: SharedSyncLog,
  replica: SyncReplica,
  options: Pick<ServerReplicaOptions, 'retentionMs' | 'compactionIntervalMs' | 'maxConcurrentCatchUps'> & { lock: UserLock; logger: Pick<FastifyBaseLogger, 'warn' | 'info'>; observer?: SyncObserver },
): AttachedReplica {
  const { lock, logger, observer } = options
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS
  const follower = new ReplicaFollower(replica, lock, {
    concurrency: options.maxConcurrentCatchUps,
    onError: (userId, error) => {
      observer?.replicaCatchUpFailed?.()
      logger.warn({ err: error, userId }, 'storex-sync: the replica failed to catch up after a write; it tries again at the next write of this user')
    },
  })
  const pass = async (shouldStop: () => boolean = () => false) => {
    const result = await compactAllUsers({
      replica,
      lock,
      retentionMs,
      shouldStop,
      onUser: (_userId, compacted) => {
        observer?.entriesCompacted?.(compacted.deletedEntries)
        observer?.devicesRetired?.(compacted.retiredDevices.length)
      },
    })
    for (const failure of result.failures) {
      logger.warn({ err: failure.error, userId: failure.userId }, 'storex-sync: compaction of a user failed; the next pass tries again')
    }
    logger.info({ users: result.users, deletedEntries: result.deletedEntries, retiredDevices: result.retiredDevices }, 'storex-sync: compaction pass done')
    return result
  }
  const intervalMs = options.compactionIntervalMs === false ? 0 : (options.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS)
  const scheduler = new CompactionScheduler(intervalMs, pass)
  if (intervalMs > 0) scheduler.start()

  const sharedSyncLog: SharedSyncLog = {
    createDeviceId: (args) => log.createDeviceId(args),
    getDeviceInfo: (args) => log.getDeviceInfo(args),
    async writeEntries(entries, args) {
      await log.writeEntries(entries, args)
      if (entries.length) follower.notify(args.userId)
    },
    getUnsyncedEntries: (args) => log.getUnsyncedEntries(args),
    markAsSeen: (update, args) => log.markAsSeen(update, args),
    getSnapshotPage: (args) =>
      args.cursor ? replica.getSnapshotPage(args) : lock.run(String(args.userId), () => replica.getSnapshotPage(args)),
    compact: (args) => lock.run(String(args.userId), () => replica.compact(args)),
  }
  if (log.getLimits) sharedSyncLog.getLimits = () => log.getLimits!()
  if (log.getServerTime) sharedSyncLog.getServerTime = () => log.getServerTime!()
  return {
    replica,
    sharedSyncLog,
    idle: () => follower.idle(),
    compactNow: () => pass(),
    async close() {
      await scheduler.stop()
      await follower.close()
      await lock.close()
    },
  }
}
