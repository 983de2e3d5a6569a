import { compareEntries } from './internal/entries'
import type { ClientSyncLogEntry } from './types'

/**
 * The entries of one object's history that can no longer change what the
 * default reconciler decides, whatever entries arrive later: everything
 * before the object's latest delete (the delete stays as its tombstone), and
 * modifies whose every field a later create or modify overwrites. What is
 * left is at most the object's latest life: its create and, per field, the
 * latest write (fields + 1 entries), or the tombstone of a deleted object.
 *
 * `history` is one object's entries (any order). `removable` vetoes entries
 * that must stay whatever the rules say (unsent ones, say); a vetoed entry
 * still counts as overwriting earlier ones. Used by the client sync log
 * (`deleteObsoleteEntries`, doSync's compaction) and the server's replica, so
 * both keep the same history.
 */
export function findObsoleteEntries(
  history: ClientSyncLogEntry[],
  removable: (entry: ClientSyncLogEntry) => boolean = () => true,
): ClientSyncLogEntry[] {
  const sorted = [...history].sort(compareEntries)
  let lastDelete = -1
  sorted.forEach((entry, index) => {
    if (entry.operation === 'delete') {
      lastDelete = index
    }
  })
  const obsolete: ClientSyncLogEntry[] = []
  const laterFields = new Set<string>()
  for (let index = sorted.length - 1; index >= 0; index -= 1) {
    const entry = sorted[index]!
    if (index < lastDelete) {
      if (removable(entry)) {
        obsolete.push(entry)
      }
      continue
    }
    if (entry.operation === 'modify' && removable(entry) && Object.keys(entry.value).every((field) => laterFields.has(field))) {
      obsolete.push(entry)
    }
    if (entry.operation !== 'delete') {
      for (const field of Object.keys(entry.value)) {
        laterFields.add(field)
      }
    }
  }
  return obsolete
}

/** `history` without its obsolete entries (see `findObsoleteEntries`), sorted by `compareEntries`. */
export function compactHistory(history: ClientSyncLogEntry[]): ClientSyncLogEntry[] {
  const obsolete = new Set(findObsoleteEntries(history))
  return [...history].filter((entry) => !obsolete.has(entry)).sort(compareEntries)
}
