import type { ObjectPk } from './types'
import { compareStrings } from './internal/entries'
import type { StoredLogEntry } from './internal/schema'

/** Where one object stands with sync: what of it has not reached the other devices, or this one. */
export interface ObjectSyncState {
  collection: string
  pk: ObjectPk
  /** Changes made here that wait to be sent. */
  unsent: number
  /** Changes made here that the shared log refused for good (in the outgoing quarantine). */
  setAside: number
  /** Changes received from other devices that are not applied here yet. */
  unapplied: number
}

/**
 * The per-object view of the log's pending entries, in a stable order (by
 * collection, then pk): objects without pending entries are in sync and
 * absent from the result.
 */
export function objectSyncStates(groups: { unsent: StoredLogEntry[]; setAside: StoredLogEntry[]; unapplied: StoredLogEntry[] }): ObjectSyncState[] {
  const states = new Map<string, ObjectSyncState>()
  for (const kind of ['unsent', 'setAside', 'unapplied'] as const) {
    for (const entry of groups[kind]) {
      let state = states.get(entry.objectKey)
      if (!state) {
        state = { collection: entry.collection, pk: entry.pk, unsent: 0, setAside: 0, unapplied: 0 }
        states.set(entry.objectKey, state)
      }
      state[kind] += 1
    }
  }
  return [...states.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, state]) => state)
}
