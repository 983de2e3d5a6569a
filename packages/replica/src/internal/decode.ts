import type { StorageRegistry } from '@worldbrain/storex'
import { checkEntry, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import type { SharedSyncLogEntryData } from '@storex-sync/shared-sync-log-core'
import type { StoredReplicaEntry } from './schema'

/** Turns the data the shared log stores back into entry data; the devices' serializer. */
export interface ReplicaSerializer {
  deserializeSharedSyncLogEntryData(serialized: string): SharedSyncLogEntryData | Promise<SharedSyncLogEntryData>
}

export const jsonReplicaSerializer: ReplicaSerializer = {
  deserializeSharedSyncLogEntryData: (serialized) => JSON.parse(serialized),
}

export type DecodedEntry = { ok: true; entry: ClientSyncLogEntry } | { ok: false; reason: string; message: string }

/**
 * Decodes one entry of the log into the form the reconciler takes. The
 * replica checks the shape and the clock value, and, when it is given the
 * app's schema, collections, pks and fields exactly as devices do.
 */
export async function decodeReplicaEntry(
  stored: StoredReplicaEntry,
  serializer: ReplicaSerializer,
  check: { now: number; maxClockDriftMs: number; storageRegistry?: StorageRegistry },
): Promise<DecodedEntry> {
  let data: Partial<SharedSyncLogEntryData>
  try {
    data = (await serializer.deserializeSharedSyncLogEntryData(stored.data)) as Partial<SharedSyncLogEntryData>
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw new Error(`the serializer returned ${JSON.stringify(data)}, not an object`)
    }
  } catch (error) {
    return {
      ok: false,
      reason: 'UNDECODABLE_ENTRY',
      message: `could not decode the data (${(error as Error)?.message ?? String(error)}); give the replica the serializer the devices use`,
    }
  }
  const candidate = {
    deviceId: stored.deviceId,
    createdOn: stored.createdOn,
    sharedOn: stored.sharedOn,
    needsIntegration: true,
    operation: data.operation,
    collection: data.collection,
    pk: data.pk,
    ...(data.operation !== 'delete' ? { value: data.value ?? undefined } : {}),
  }
  // The same bound as every device: an entry from a clock far ahead waits (and is retried) until time catches up.
  const problem = checkEntry(candidate as ClientSyncLogEntry, check)
  if (problem) {
    return { ok: false, reason: problem.reason, message: problem.message }
  }
  return { ok: true, entry: candidate as ClientSyncLogEntry }
}

/** The identity of an entry: the same device and clock value is the same entry. */
export function replicaEntryKey(entry: { deviceId: unknown; createdOn: number }): string {
  return JSON.stringify([entry.deviceId, entry.createdOn])
}
