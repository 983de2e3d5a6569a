import {
  type ClientSyncLogEntry,
  type QuarantineEntryInput,
  type ReceivedClientSyncLogEntry,
} from '@storex-sync/client-sync-log'
import { utf8Length, type SharedSyncLogSnapshotPage, resolveNow } from '@storex-sync/shared-sync-log-core'
import { decodeOrQuarantine } from './decode'
import { setAsideReceived } from './receive'
import { SyncOrchestratorError } from './errors'
import { syncContextOf, type SyncContext } from './internal/context'
import type { CommonSyncOptions, SyncOptions, SyncResult } from './types'

/** Objects asked for per snapshot page. */
export const DEFAULT_SNAPSHOT_PAGE_SIZE = 1000

export type BootstrapMode =
  /** A device whose log is empty: the snapshot's objects are written directly. */
  | 'fresh'
  /**
   * A device with data of its own (back after being retired): the snapshot's
   * entries are merged as received entries, so the reconciler decides each
   * object from the snapshot and the device's own history.
   */
  | 'merge'

type BootstrapOptions = CommonSyncOptions & Pick<SyncOptions, 'storageManager' | 'reconciler'> & { snapshotPageSize?: number; syncContext?: SyncContext }

/**
 * Starts a device from the replica's snapshot (`sharedSyncLog.getSnapshotPage`)
 * instead of replaying the log: every page's entries are stored, then the
 * device's cursor moves to the snapshot's position, from where `receive`
 * goes on. Safe to interrupt: a new sync starts over (what a page stored is
 * recognised as held) or, once the log has moved on, merges a new snapshot.
 * Emits `progress` with the snapshot's totals (objects, entries, bytes).
 */
export async function bootstrapFromSnapshot(options: BootstrapOptions, mode: BootstrapMode, result: SyncResult): Promise<void> {
  const getPage = options.sharedSyncLog.getSnapshotPage?.bind(options.sharedSyncLog)
  if (!getPage) {
    throw new SyncOrchestratorError(
      'SNAPSHOT_UNAVAILABLE',
      'the shared log compacted entries this device has not read, and it serves no snapshot to start again from; ' +
        'sync through a server that keeps a replica (@storex-sync/sync-server --replica) or a log wrapped with withReplica().',
    )
  }
  const { emit, serializer, snapshotPageSize: limit } = syncContextOf(options)
  const done = { objects: 0, entries: 0, bytes: 0 }
  // Made once: a snapshot has hundreds of thousands of entries to decode.
  const decodeOptions = { ...options, storageRegistry: options.storageManager.registry }
  let cursor: string | null = null
  let memo: unknown
  emit('bootstrapStarted', { mode })
  do {
    const page: SharedSyncLogSnapshotPage = await getPage({ userId: options.userId, deviceId: options.deviceId, cursor, limit })
    memo = page.memo
    const received: ReceivedClientSyncLogEntry[] = []
    const quarantined: QuarantineEntryInput[] = []
    for (const object of page.objects) {
      for (const sharedEntry of object.entries) {
        done.bytes += utf8Length(sharedEntry.data)
        const outcome = await decodeOrQuarantine(sharedEntry, decodeOptions, serializer)
        if (outcome.ok) received.push(outcome.entry)
        else if (outcome.ok === false) quarantined.push(outcome.quarantine)
      }
    }
    const now = resolveNow(options.now)
    await setAsideReceived(quarantined, options, result, now)
    const stored = mode === 'fresh' ? await storeFresh(received, options, now) : await options.clientSyncLog.insertReceivedEntries(received, { now })
    result.bootstrap.objects += page.objects.length
    result.bootstrap.entries += received.length
    result.received.stored += stored.inserted
    done.objects += page.objects.length
    done.entries += page.objects.reduce((sum, object) => sum + object.entries.length, 0)
    emit('progress', {
      phase: 'bootstrap',
      objects: { done: done.objects, total: page.totals.objects },
      entries: { done: done.entries, total: page.totals.entries },
      bytes: { done: done.bytes, total: page.totals.bytes },
    })
    cursor = page.cursor
  } while (cursor)
  await options.sharedSyncLog.markAsSeen({ memo }, { userId: options.userId, deviceId: options.deviceId, now: options.now })
  result.bootstrap.mode = mode
  emit('bootstrapFinished', { mode, objects: done.objects, entries: done.entries, bytes: done.bytes })
}

/**
 * A new device: the reconciler decides each object from its snapshot history
 * alone (all entries passed as not yet integrated, so it returns the
 * operations that create the object as every device has it), and the
 * entries are stored as integrated in the same database batch.
 */
async function storeFresh(entries: ReceivedClientSyncLogEntry[], options: BootstrapOptions, now: number): Promise<{ inserted: number }> {
  if (!entries.length) {
    return { inserted: 0 }
  }
  const history = entries.map((entry) => asLogEntry(entry, now))
  let operations
  try {
    operations = await options.reconciler(history, { storageRegistry: options.storageManager.registry })
  } catch {
    // One object the reconciler cannot decide must not stop the others: merge them instead, so it
    // stays pending (and is reported) like any object whose integration fails.
    return options.clientSyncLog.insertReceivedEntries(entries, { now })
  }
  return options.clientSyncLog.insertSnapshotEntries(
    entries,
    operations.map((step: any, index: number) => (step.placeholder ? step : { ...step, placeholder: `snapshot-${index}` })),
    { now },
  )
}

/** The entry as a pending log entry; spelled out (not spread) so every entry has one of two shapes: a snapshot has hundreds of thousands. */
function asLogEntry(entry: ReceivedClientSyncLogEntry, now: number): ClientSyncLogEntry {
  return entry.operation === 'delete'
    ? { deviceId: entry.deviceId, createdOn: entry.createdOn, operation: 'delete', collection: entry.collection, pk: entry.pk, sharedOn: now, needsIntegration: true }
    : { deviceId: entry.deviceId, createdOn: entry.createdOn, operation: entry.operation, collection: entry.collection, pk: entry.pk, value: entry.value!, sharedOn: now, needsIntegration: true }
}
