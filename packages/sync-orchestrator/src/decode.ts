import {
  findReceivedEntryProblem,
  reviveDateFields,
  type QuarantineEntryInput,
  type ReceivedClientSyncLogEntry,
} from '@storex-sync/client-sync-log'
import { resolveNow, type SharedSyncLogEntry, type SharedSyncLogEntryData } from '@storex-sync/shared-sync-log-core'
import type { StorageRegistry } from '@worldbrain/storex'
import type { CommonSyncOptions, SyncSerializer } from './types'

async function decodeEntry(
  entry: SharedSyncLogEntry,
  serializer: SyncSerializer,
  storageRegistry: StorageRegistry | undefined,
): Promise<SharedSyncLogEntry<SharedSyncLogEntryData>> {
  const data = await serializer.deserializeSharedSyncLogEntryData(entry.data)
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`the serializer returned ${JSON.stringify(data)}, not an object`)
  }
  const value =
    storageRegistry && data.value && typeof data.value === 'object'
      ? reviveDateFields(storageRegistry, data.collection, data.value)
      : data.value
  return { ...entry, data: { ...data, value } }
}

/** The entry as the shared log delivered it, in a form every backend can store as json. */
function rawEntry(entry: SharedSyncLogEntry): unknown {
  try {
    return JSON.parse(JSON.stringify(entry))
  } catch {
    return { deviceId: entry.deviceId, createdOn: entry.createdOn, data: String(entry.data) }
  }
}

type DecodedOrQuarantined =
  | { ok: true; entry: ReceivedClientSyncLogEntry }
  | { ok: false; quarantine: QuarantineEntryInput }
  | { ok: null }

/**
 * Decodes one received entry and checks it against the schema: an entry that
 * cannot be used is set aside (quarantined) with its reason instead of failing
 * the sync; `postReceive` sees decodable entries and may fix or drop them.
 */
export async function decodeOrQuarantine(
  sharedEntry: SharedSyncLogEntry,
  options: CommonSyncOptions & { storageRegistry?: StorageRegistry },
  serializer: SyncSerializer,
): Promise<DecodedOrQuarantined> {
  const quarantine = (reason: QuarantineEntryInput['reason'], message: string): DecodedOrQuarantined => ({
    ok: false,
    quarantine: { deviceId: sharedEntry.deviceId, createdOn: sharedEntry.createdOn, reason, message, raw: rawEntry(sharedEntry) },
  })
  let decoded: SharedSyncLogEntry<SharedSyncLogEntryData>
  try {
    decoded = await decodeEntry(sharedEntry, serializer, options.storageRegistry)
  } catch (error) {
    return quarantine(
      'UNDECODABLE_ENTRY',
      `could not decode the data (${(error as Error)?.message ?? String(error)}); check that every device uses the same serializer`,
    )
  }
  const processed = options.postReceive ? (await options.postReceive({ entry: decoded })).entry : decoded
  if (!processed) {
    return { ok: null }
  }
  const data = (processed.data ?? {}) as Partial<SharedSyncLogEntryData>
  const candidate = {
    deviceId: processed.deviceId,
    createdOn: processed.createdOn,
    operation: data.operation,
    collection: data.collection,
    pk: data.pk,
    value: data.value ?? undefined,
  }
  const problem = findReceivedEntryProblem(options.storageRegistry, candidate, {
    now: resolveNow(options.now),
    maxClockDriftMs: options.maxClockDriftMs,
  })
  if (problem) {
    return quarantine(problem.reason, problem.message)
  }
  if (candidate.operation === 'delete') {
    // A new object rather than `delete candidate.value`, which would leave it in V8's slow dictionary mode.
    const { value: _value, ...withoutValue } = candidate
    return { ok: true, entry: withoutValue as ReceivedClientSyncLogEntry }
  }
  return { ok: true, entry: candidate as ReceivedClientSyncLogEntry }
}

