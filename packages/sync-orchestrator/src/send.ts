import { getObjectKey, type ClientSyncLogEntry, type OutgoingQuarantineReason } from '@storex-sync/client-sync-log'
import {
  resolveNow,
  measureEntryBytes,
  measureWriteOverhead,
  readRefusal,
  type SharedSyncLog,
  type SharedSyncLogEntryData,
  type SharedSyncLogEntryInput,
  type SharedSyncLogLimits,
} from '@storex-sync/shared-sync-log-core'
import type { StorageRegistry } from '@worldbrain/storex'
import { syncContextOf } from './internal/context'
import { emptyResult } from './options'
import { SyncOrchestratorError } from './errors'
import { reconcilesLocalWrites } from './internal/local-writes'
import type { CommonSyncOptions, OutgoingQuarantinedSummary, SyncOptions, SyncResult } from './types'

interface Prepared {
  entry: ClientSyncLogEntry
  key: string
  input: SharedSyncLogEntryInput
  bytes: number
}

interface SetAside {
  entry: ClientSyncLogEntry
  reason: OutgoingQuarantineReason
  message: string
}

function toEntryData(entry: ClientSyncLogEntry, storageRegistry: StorageRegistry | undefined): SharedSyncLogEntryData {
  const version = storageRegistry?.collections[entry.collection]?.version
  const schemaVersion = version instanceof Date ? { schemaVersion: version.getTime() } : {}
  return entry.operation === 'delete'
    ? { operation: 'delete', collection: entry.collection, pk: entry.pk, ...schemaVersion }
    : { operation: entry.operation, collection: entry.collection, pk: entry.pk, value: entry.value, ...schemaVersion }
}

/** The log's published limits, or none when it publishes none. A failing read fails the stage (it may pass later). */
export async function readLimits(sharedSyncLog: SharedSyncLog): Promise<SharedSyncLogLimits> {
  if (typeof sharedSyncLog.getLimits !== 'function') {
    return {}
  }
  const limits = (await sharedSyncLog.getLimits()) ?? {}
  const valid = (value: unknown) => (typeof value === 'number' && value >= 1 && Number.isFinite(value) ? Math.floor(value) : undefined)
  return {
    ...(valid(limits.maxEntriesPerWrite) ? { maxEntriesPerWrite: valid(limits.maxEntriesPerWrite) } : {}),
    ...(valid(limits.maxWriteBytes) ? { maxWriteBytes: valid(limits.maxWriteBytes) } : {}),
  }
}

function describeEntry(entry: ClientSyncLogEntry): string {
  return `${entry.operation} of '${entry.collection}' ${JSON.stringify(entry.pk)} (createdOn ${entry.createdOn})`
}

/**
 * Stage 2: sends the device's unshared entries, oldest first. Writes are cut
 * to the shared log's published limits, in entries and in bytes, so no write
 * is larger than the log accepts. An entry is marked shared only after the
 * log accepted it; entries that `preSend` held back are marked too.
 *
 * An entry the log refuses for good (`readRefusal()`: larger than the log
 * accepts even alone, or named as refused) is set aside in the client sync
 * log's outgoing quarantine with its reason, and the other entries are sent:
 * when the log cannot say which entry it refuses, the write is halved until
 * it can. Every later entry of the same object is held in the quarantine too
 * (`HELD_BEHIND`), so other devices never see an object's history with a
 * hole in it; retry or discard work per object. Errors that may pass later
 * (network, 5xx, 429, 401, timeouts) fail the stage unchanged: nothing is
 * quarantined for them and the next sync sends again.
 */
export async function shareLogEntries(
  options: CommonSyncOptions & { storageRegistry?: StorageRegistry } & Partial<Pick<SyncOptions, 'reconciler' | 'reconcileLocalWrites'>>,
  result: SyncResult = emptyResult(),
): Promise<SyncResult> {
  const context = syncContextOf(options)
  const { emit, serializer, batchSize } = context
  const { clientSyncLog, sharedSyncLog } = options
  const limits = await readLimits(sharedSyncLog)
  const maxEntries = Math.min(batchSize, limits.maxEntriesPerWrite ?? Infinity)
  const writeOptions = {
    userId: options.userId,
    deviceId: options.deviceId,
    now: options.now,
    ...(options.extraSentInfo !== undefined ? { extraSentInfo: options.extraSentInfo } : {}),
  }
  const overhead = measureWriteOverhead(writeOptions)
  const maxBytes = limits.maxWriteBytes
  const canQuarantine = typeof clientSyncLog.quarantineOutgoingEntries === 'function'
  const canSettle = typeof clientSyncLog.settleOutgoingBehindDeletes === 'function'
  // Tells this tab and the others that these entries' objects changed sync state (badges, pending counts).
  const notifySent = (entries: number, collections: Iterable<string>) => {
    if (entries) clientSyncLog.notifyChange?.({ kind: 'sent', entries, collections: [...new Set(collections)] })
  }
  const settle = async (deletes: Array<{ objectKey: string; createdOn: number }> = []): Promise<boolean> => {
    if (!canSettle) return false
    const settled = await clientSyncLog.settleOutgoingBehindDeletes(deletes)
    if (!settled.dropped && !settled.released) return false
    emit('outgoingEntriesSettled', settled)
    return true
  }
  // An object deleted after its refused entry: the refused entries are moot, the delete goes.
  await settle()
  // Per object with quarantined entries, the createdOn of the first one: its later entries are held.
  const loadBlocked = async () => (canQuarantine ? await clientSyncLog.getOutgoingQuarantinedObjects() : new Map<string, number>())
  let blocked = await loadBlocked()
  const isBlocked = (key: string, createdOn: number) => createdOn > (blocked.get(key) ?? Infinity)
  const block = (key: string, createdOn: number) => blocked.set(key, Math.min(blocked.get(key) ?? Infinity, createdOn))
  let settledInStage = false
  const now = resolveNow(options.now)
  // reconcileLocalWrites (the option, or the flag of doSync's reconciler): own writes pass through the reconciler too.
  const ownWritesPending = reconcilesLocalWrites(options) ? { needsIntegration: true } : {}
  let pageSent = 0
  let pageQuarantined = 0

  const quarantine = async (items: SetAside[]) => {
    if (!items.length) return
    if (!canQuarantine) {
      throw new SyncOrchestratorError(
        'OUTGOING_QUARANTINE_MISSING',
        `the shared log refused ${describeEntry(items[0]!.entry)} (${items[0]!.message}), and this clientSyncLog has no outgoing quarantine to set it aside; update @storex-sync/client-sync-log.`,
      )
    }
    await clientSyncLog.quarantineOutgoingEntries(items, { now })
    const summaries: OutgoingQuarantinedSummary[] = items.map(({ entry, reason, message }) => {
      block(getObjectKey(entry.collection, entry.pk), entry.createdOn)
      return { deviceId: entry.deviceId, createdOn: entry.createdOn, collection: entry.collection, pk: entry.pk, operation: entry.operation, reason, message }
    })
    result.sent.quarantined += items.length
    result.outgoingQuarantined.push(...summaries)
    pageQuarantined += items.length
    emit('outgoingEntriesQuarantined', { entries: summaries })
  }
  const heldBehind = (entry: ClientSyncLogEntry): SetAside => ({
    entry,
    reason: 'HELD_BEHIND',
    message: `waits behind an earlier quarantined entry of '${entry.collection}' ${JSON.stringify(entry.pk)}: retry or discard that one`,
  })

  const sendChunk = async (chunk: Prepared[]): Promise<void> => {
    if (!chunk.length) return
    try {
      await sharedSyncLog.writeEntries(chunk.map((item) => item.input), writeOptions)
    } catch (error) {
      const refusal = readRefusal(error)
      if (!refusal) throw error
      const named = refusal.refused?.length ? new Map(refusal.refused.map((item) => [item.createdOn, item])) : null
      if (named) {
        const refused = chunk.filter((item) => named.has(item.entry.createdOn))
        if (!refused.length) throw error // it names entries we did not send: do not guess
        const firstRefused = new Map<string, number>()
        for (const item of refused) {
          firstRefused.set(item.key, Math.min(firstRefused.get(item.key) ?? Infinity, item.entry.createdOn))
        }
        const rest: Prepared[] = []
        const held: SetAside[] = []
        for (const item of chunk) {
          if (named.has(item.entry.createdOn)) continue
          if (item.entry.createdOn > (firstRefused.get(item.key) ?? Infinity)) held.push(heldBehind(item.entry))
          else rest.push(item)
        }
        await quarantine([
          ...refused.map((item) => {
            const refusalOf = named.get(item.entry.createdOn)!
            return {
              entry: item.entry,
              reason: (refusalOf.reason === 'TOO_LARGE' ? 'TOO_LARGE' : 'REFUSED') as OutgoingQuarantineReason,
              message: refusalOf.message || refusal.message,
            }
          }),
          ...held,
        ])
        return sendChunk(rest)
      }
      if (chunk.length === 1) {
        const reason: OutgoingQuarantineReason = refusal.code === 'REQUEST_TOO_LARGE' ? 'TOO_LARGE' : 'REFUSED'
        await quarantine([{ entry: chunk[0]!.entry, reason, message: `the shared log refused this entry on its own: ${refusal.message}` }])
        return
      }
      // The log refused the write without naming entries: halve it until it can.
      const middle = Math.ceil(chunk.length / 2)
      await sendChunk(chunk.slice(0, middle))
      const second = chunk.slice(middle)
      await quarantine(second.filter((item) => isBlocked(item.key, item.entry.createdOn)).map((item) => heldBehind(item.entry)))
      return sendChunk(second.filter((item) => !isBlocked(item.key, item.entry.createdOn)))
    }
    await clientSyncLog.markAsShared(chunk.map((item) => item.entry), { sharedOn: now, ...ownWritesPending })
    context.touchedObjects.add(chunk.map((item) => item.entry))
    result.sent.entries += chunk.length
    result.sent.batches += 1
    pageSent += chunk.length
  }

  while (true) {
    const entries = await clientSyncLog.getUnsharedEntries({ batchSize })
    if (!entries.length) {
      return result
    }
    pageSent = 0
    pageQuarantined = 0
    const ready: Prepared[] = []
    const filtered: ClientSyncLogEntry[] = []
    const setAside: SetAside[] = []
    const deletesBehind: Array<{ objectKey: string; createdOn: number }> = []
    for (const entry of entries) {
      const key = getObjectKey(entry.collection, entry.pk)
      if (isBlocked(key, entry.createdOn)) {
        if (entry.operation === 'delete' && canSettle && !settledInStage) deletesBehind.push({ objectKey: key, createdOn: entry.createdOn })
        else setAside.push(heldBehind(entry))
        continue
      }
      const processed = options.preSend ? (await options.preSend({ entry })).entry : entry
      if (!processed) {
        filtered.push(entry)
        continue
      }
      let data: string
      try {
        data = await serializer.serializeSharedSyncLogEntryData(toEntryData(processed, options.storageRegistry))
        if (typeof data !== 'string') throw new Error(`the serializer returned ${typeof data}, not a string`)
      } catch (error) {
        setAside.push({ entry, reason: 'UNSERIALIZABLE', message: `the serializer failed: ${(error as Error)?.message ?? String(error)}` })
        if (canQuarantine) block(key, entry.createdOn)
        continue
      }
      const input = { createdOn: entry.createdOn, data }
      const bytes = measureEntryBytes(input)
      if (maxBytes !== undefined && overhead + bytes > maxBytes) {
        setAside.push({
          entry,
          reason: 'TOO_LARGE',
          message: `this entry takes ${overhead + bytes} bytes on its own, more than the ${maxBytes} bytes the shared log accepts in one write`,
        })
        if (canQuarantine) block(key, entry.createdOn)
        continue
      }
      ready.push({ entry, key, input, bytes })
    }
    if (deletesBehind.length) {
      // Objects deleted after their refused entries: those are moot now, the deletes go. The
      // page is read again (once per stage), as what is blocked has changed.
      settledInStage = true
      await settle(deletesBehind)
      blocked = await loadBlocked()
      continue
    }
    await quarantine(setAside)

    // Cut into writes no larger than the log accepts, in entries and in bytes.
    const chunks: Prepared[][] = []
    let current: Prepared[] = []
    let currentBytes = overhead
    for (const item of ready) {
      const added = item.bytes + (current.length ? 1 : 0)
      if (current.length && (current.length >= maxEntries || (maxBytes !== undefined && currentBytes + added > maxBytes))) {
        chunks.push(current)
        current = []
        currentBytes = overhead
      }
      currentBytes += item.bytes + (current.length ? 1 : 0)
      current.push(item)
    }
    if (current.length) chunks.push(current)

    for (const chunk of chunks) {
      await quarantine(chunk.filter((item) => isBlocked(item.key, item.entry.createdOn)).map((item) => heldBehind(item.entry)))
      await sendChunk(chunk.filter((item) => !isBlocked(item.key, item.entry.createdOn)))
    }
    if (filtered.length) {
      await clientSyncLog.markAsShared(filtered, { sharedOn: now, ...ownWritesPending })
      context.touchedObjects.add(filtered)
    }
    result.sent.filtered += filtered.length
    if (!chunks.length) {
      result.sent.batches += 1 // a page with nothing to write still counts, as before limits
    }
    emit('sentEntries', { entries: pageSent, filtered: filtered.length, quarantined: pageQuarantined })
    notifySent(pageSent + filtered.length + pageQuarantined, entries.map((entry) => entry.collection))
    if (entries.length < batchSize) {
      return result
    }
  }
}
