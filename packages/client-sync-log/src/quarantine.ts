import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import stringify from 'safe-stable-stringify'
import { checkEntry, type EntryCheckOptions, type EntryProblem, type EntryProblemReason } from './entry-check'
import type { DeviceId } from './types'

export const CLIENT_SYNC_LOG_QUARANTINE_COLLECTION = 'clientSyncLogQuarantine'

/** Why a received entry was set aside instead of stored in the log: see `EntryProblemReason`. */
export type QuarantineReason = EntryProblemReason

/** A received entry set aside, as you pass it to `quarantineEntries()`. */
export interface QuarantineEntryInput {
  deviceId: DeviceId
  createdOn: number
  reason: QuarantineReason
  /** What exactly was wrong, for a human. */
  message: string
  /** The entry as the shared log delivered it (its `data` still serialized), so it can be decoded again later. */
  raw: unknown
}

/** A quarantined entry as `getQuarantinedEntries()` returns it. */
export interface QuarantinedEntry extends QuarantineEntryInput {
  /** Deterministic from deviceId + createdOn: a re-delivered entry is quarantined once. */
  id: string
  /** Wall-clock ms at which it was (last) set aside. */
  quarantinedOn: number
}

/** How a quarantined entry is stored (`raw` as json, never queried). */
export interface StoredQuarantinedEntry {
  id: string
  deviceId: unknown
  createdOn: number
  reason: string
  message: string
  raw: unknown
  quarantinedOn: number
}

export const clientSyncLogQuarantineCollection: CollectionDefinition = {
  version: new Date('2025-01-01'),
  fields: {
    id: { type: 'string' },
    deviceId: { type: 'json' },
    createdOn: { type: 'float' },
    reason: { type: 'string' },
    message: { type: 'text' },
    raw: { type: 'json' },
    quarantinedOn: { type: 'float' },
  },
  indices: [{ field: 'id', pk: true }, { field: 'quarantinedOn' }],
}

/** The quarantine id of an entry: like the log's entry id, but tolerant of broken deviceId/createdOn. */
export function getQuarantineId(deviceId: unknown, createdOn: unknown): string {
  return stringify(['quarantine', deviceId ?? null, typeof createdOn === 'number' && Number.isFinite(createdOn) ? createdOn : String(createdOn)])!
}

/**
 * Checks an entry received from the shared log against this device's schema
 * and wall clock: `checkEntry` under the name doSync has always used.
 */
export function findReceivedEntryProblem(
  storageRegistry: StorageRegistry | undefined,
  entry: Parameters<typeof checkEntry>[0],
  options: Omit<EntryCheckOptions, 'storageRegistry'> = {},
): EntryProblem | null {
  return checkEntry(entry, { ...options, storageRegistry })
}

export function toStoredQuarantinedEntry(entry: QuarantineEntryInput, quarantinedOn: number): StoredQuarantinedEntry {
  return {
    id: getQuarantineId(entry.deviceId, entry.createdOn),
    deviceId: entry.deviceId ?? null,
    createdOn: typeof entry.createdOn === 'number' && Number.isFinite(entry.createdOn) ? entry.createdOn : 0,
    reason: entry.reason,
    message: entry.message,
    raw: entry.raw ?? null,
    quarantinedOn,
  }
}

export function fromStoredQuarantinedEntry(stored: StoredQuarantinedEntry): QuarantinedEntry {
  return {
    id: stored.id,
    deviceId: stored.deviceId as DeviceId,
    createdOn: Number(stored.createdOn),
    reason: stored.reason as QuarantineReason,
    message: stored.message,
    raw: stored.raw,
    quarantinedOn: Number(stored.quarantinedOn),
  }
}
