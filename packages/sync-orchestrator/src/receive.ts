import { resolveNow } from '@storex-sync/shared-sync-log-core'
import { getQuarantineId, type QuarantineEntryInput, type ReceivedClientSyncLogEntry } from '@storex-sync/client-sync-log'
import type { StorageRegistry } from '@worldbrain/storex'
import { decodeOrQuarantine } from './decode'
import { syncContextOf, type SyncContext } from './internal/context'
import { emptyResult } from './options'
import { retryQuarantinedEntries } from './quarantine'
import type { CommonSyncOptions, QuarantinedEntrySummary, SyncResult } from './types'

const RETRIED_EACH_SYNC = ['CLOCK_OUT_OF_RANGE', 'UNKNOWN_COLLECTION', 'UNKNOWN_FIELD'] as const

/**
 * Stage 1: reads the other devices' entries from the shared log, page by
 * page, and stores them in the client sync log. The cursor moves only after a
 * page is stored, so an interrupted receive is simply repeated.
 */
export async function receiveLogEntries(
  options: CommonSyncOptions & { storageRegistry?: StorageRegistry; syncContext?: SyncContext },
  result: SyncResult = emptyResult(),
): Promise<SyncResult> {
  const { emit, serializer, batchSize } = syncContextOf(options)
  // Entries kept aside until this device can use them are taken back once it can: a clock that
  // caught up, an app update that registered the collection or field.
  await retryQuarantinedEntries({
    ...options,
    storageManager: { registry: options.storageRegistry! },
    onlyReasons: RETRIED_EACH_SYNC,
  })
  while (true) {
    const update = await options.sharedSyncLog.getUnsyncedEntries({
      userId: options.userId,
      deviceId: options.deviceId,
      batchSize,
    })
    if (!update.entries.length) {
      // The cursor still moves past this device's own entries, and the log learns the device is
      // active: a cursor left behind would hold compaction back and get the device retired.
      await options.sharedSyncLog.markAsSeen(update, { userId: options.userId, deviceId: options.deviceId, now: options.now })
      return result
    }
    const received: ReceivedClientSyncLogEntry[] = []
    const quarantined: QuarantineEntryInput[] = []
    let filtered = 0
    for (const sharedEntry of update.entries) {
      const outcome = await decodeOrQuarantine(sharedEntry, options, serializer)
      if (outcome.ok === null) {
        filtered += 1
      } else if (outcome.ok) {
        received.push(outcome.entry)
      } else {
        quarantined.push(outcome.quarantine)
      }
    }
    // Bad entries are stored aside before the cursor moves past them: nothing is dropped.
    await setAsideReceived(quarantined, options, result, resolveNow(options.now))
    const { inserted, duplicates } = received.length
      ? await options.clientSyncLog.insertReceivedEntries(received, { now: resolveNow(options.now) })
      : { inserted: 0, duplicates: 0 }
    await options.sharedSyncLog.markAsSeen(update, {
      userId: options.userId,
      deviceId: options.deviceId,
      now: options.now,
    })
    result.received.entries += update.entries.length
    result.received.stored += inserted
    result.received.duplicates += duplicates
    result.received.filtered += filtered
    result.received.pages += 1
    emit('receivedEntries', { entries: update.entries.length, stored: inserted, duplicates, filtered, quarantined: quarantined.length })
    emit('progress', {
      phase: 'receive',
      entries: { done: result.received.entries, total: update.remaining === undefined ? null : result.received.entries + update.remaining },
    })
    if (!update.hasMore) {
      return result
    }
  }
}

/** Stores received entries that cannot be used aside (never dropped), and reports them in the result and an event. */
export async function setAsideReceived(
  quarantined: QuarantineEntryInput[],
  options: Pick<CommonSyncOptions, 'clientSyncLog'> & { syncContext?: SyncContext; events?: CommonSyncOptions['events'] },
  result: SyncResult,
  now: number,
): Promise<void> {
  if (!quarantined.length) return
  await options.clientSyncLog.quarantineEntries(quarantined, { now })
  const summaries: QuarantinedEntrySummary[] = quarantined.map((entry) => ({
    id: getQuarantineId(entry.deviceId, entry.createdOn),
    deviceId: entry.deviceId,
    createdOn: entry.createdOn,
    reason: entry.reason,
    message: entry.message,
  }))
  result.received.quarantined += quarantined.length
  result.quarantined.push(...summaries)
  syncContextOf(options).emit('entriesQuarantined', { entries: summaries })
}
