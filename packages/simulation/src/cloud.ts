import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { getObjectKey, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { SyncReplica, withReplica } from '@storex-sync/replica'
import { resolveNow, type SharedSyncLog, type SharedSyncLogEntry, type SharedSyncLogEntryInput, type UserId } from '@storex-sync/shared-sync-log-core'
import type { SimulationBackendFactory, SimulationStorage } from './backends'

/**
 * The shared log, recording every entry it accepts: the whole history stays
 * known to the checks after compaction has deleted it from the log.
 */
export class ArchivingSharedSyncLog implements SharedSyncLog {
  private readonly archived: SharedSyncLogEntry[] = []
  private readonly keys = new Set<string>()

  constructor(readonly inner: SharedSyncLog) {
    if (inner.compact) this.compact = (options) => inner.compact!(options)
    if (inner.getLimits) this.getLimits = () => inner.getLimits!()
  }

  compact?: SharedSyncLog['compact']
  getLimits?: SharedSyncLog['getLimits']
  createDeviceId: SharedSyncLog['createDeviceId'] = (options) => this.inner.createDeviceId(options)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = (options) => this.inner.getDeviceInfo(options)
  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = (options) => this.inner.getUnsyncedEntries(options)
  markAsSeen: SharedSyncLog['markAsSeen'] = (update, options) => this.inner.markAsSeen(update, options)

  async writeEntries(entries: SharedSyncLogEntryInput[], options: Parameters<SharedSyncLog['writeEntries']>[1]): Promise<void> {
    await this.inner.writeEntries(entries, options)
    const sharedOn = resolveNow(options.now)
    for (const entry of entries) {
      const key = JSON.stringify([options.deviceId, entry.createdOn])
      if (this.keys.has(key)) continue
      this.keys.add(key)
      this.archived.push({ userId: options.userId, deviceId: options.deviceId, createdOn: entry.createdOn, sharedOn, data: entry.data })
    }
  }

  /** Every entry the log ever accepted, in the order it accepted them. */
  entries(): SharedSyncLogEntry[] {
    return [...this.archived]
  }
}

/** The server's replica of the user's data, on its own SQLite database, beside the log. */
export async function openCloudReplica(
  log: SharedSyncLog,
  factory: SimulationBackendFactory,
  app: { now: () => number; collections: Record<string, unknown>; reconciler: ReconcilerFunction },
): Promise<{ replica: SyncReplica; served: SharedSyncLog; storage: SimulationStorage; catchUpErrors: unknown[] }> {
  let replica!: SyncReplica
  const storage = await factory({
    name: 'cloud',
    setup: (storageManager) => {
      // The server knows the app's newest schema, so it keeps aside what devices keep aside.
      storageManager.registry.registerCollections(structuredClone(app.collections) as never)
      // The app's own reconciler unless it is the default one (whose rules the replica has built in).
      const custom = app.reconciler === (reconcileSyncLog as ReconcilerFunction) ? {} : { reconciler: app.reconciler }
      replica = new SyncReplica({ storageManager, sharedSyncLog: log, now: app.now, storageRegistry: storageManager.registry, ...custom })
      registerModuleMapCollections(storageManager.registry, { replica })
    },
  })
  const catchUpErrors: unknown[] = []
  return { replica, storage, catchUpErrors, served: withReplica(log, replica, { onCatchUpError: (error) => catchUpErrors.push(error) }) }
}

/** The replica's live objects of one user, by collection and object key, each with its pk under `id`. */
export async function replicaContents(replica: SyncReplica, userId: UserId): Promise<Record<string, Record<string, Record<string, unknown>>>> {
  const contents: Record<string, Record<string, Record<string, unknown>>> = {}
  let cursor: string | null = null
  do {
    const page: Awaited<ReturnType<SyncReplica['getObjects']>> = await replica.getObjects({ userId, cursor, limit: 500 })
    for (const item of page.objects) {
      ;(contents[item.collection] ??= {})[getObjectKey(item.collection, item.pk)] = { ...item.object, id: item.pk }
    }
    cursor = page.cursor
  } while (cursor)
  return contents
}
