import { resolveNow } from '@storex-sync/shared-sync-log-core'
import type { ClientSyncLogStorage, QuarantineReason, ReceivedClientSyncLogEntry } from '@storex-sync/client-sync-log'
import type { SharedSyncLogEntry } from '@storex-sync/shared-sync-log-core'
import type { StorageRegistry } from '@worldbrain/storex'
import { decodeOrQuarantine } from './decode'
import { jsonSyncSerializer } from './serializer'
import type { CommonSyncOptions } from './types'

export interface RetryQuarantinedEntriesOptions {
  clientSyncLog: ClientSyncLogStorage
  /** The device's storage manager: its registry decides which collections exist now. */
  storageManager: { registry: StorageRegistry }
  serializer?: CommonSyncOptions['serializer']
  postReceive?: CommonSyncOptions['postReceive']
  now?: CommonSyncOptions['now']
  maxClockDriftMs?: CommonSyncOptions['maxClockDriftMs']
  /** Retry only these quarantine ids (default: all). */
  ids?: string[]
  /** Retry only entries quarantined for these reasons (doSync retries CLOCK_OUT_OF_RANGE, UNKNOWN_COLLECTION and UNKNOWN_FIELD ones by itself). */
  onlyReasons?: readonly QuarantineReason[]
}

/**
 * Decodes and checks quarantined entries again, e.g. after an app update
 * registered the collection they name or a `postReceive` learned to migrate
 * them. Entries that are fine now move into the client sync log as needing
 * integration (the next `doSync` applies them) and leave the quarantine; the
 * others stay where they are.
 */
export async function retryQuarantinedEntries(
  options: RetryQuarantinedEntriesOptions,
): Promise<{ released: number; filtered: number; stillQuarantined: number }> {
  const wanted = options.ids ? new Set(options.ids) : null
  const quarantined = (await options.clientSyncLog.getQuarantinedEntries()).filter(
    (entry) => (!wanted || wanted.has(entry.id)) && (!options.onlyReasons || options.onlyReasons.includes(entry.reason)),
  )
  if (!quarantined.length) {
    return { released: 0, filtered: 0, stillQuarantined: 0 }
  }
  const now = resolveNow(options.now)
  const released: ReceivedClientSyncLogEntry[] = []
  const done: string[] = []
  let filtered = 0
  for (const entry of quarantined) {
    const raw = entry.raw as SharedSyncLogEntry | null
    if (!raw || typeof raw !== 'object' || !('data' in raw)) {
      continue
    }
    const outcome = await decodeOrQuarantine(
      raw,
      {
        clientSyncLog: options.clientSyncLog,
        storageRegistry: options.storageManager.registry,
        postReceive: options.postReceive,
        now,
        maxClockDriftMs: options.maxClockDriftMs,
      } as CommonSyncOptions & { storageRegistry: StorageRegistry },
      options.serializer ?? jsonSyncSerializer,
    )
    if (outcome.ok === null) {
      filtered += 1
      done.push(entry.id)
    } else if (outcome.ok) {
      released.push(outcome.entry)
      done.push(entry.id)
    }
  }
  if (released.length) {
    await options.clientSyncLog.insertReceivedEntries(released, { now })
  }
  if (done.length) {
    await options.clientSyncLog.clearQuarantinedEntries({ ids: done })
  }
  return { released: released.length, filtered, stillQuarantined: quarantined.length - done.length }
}
