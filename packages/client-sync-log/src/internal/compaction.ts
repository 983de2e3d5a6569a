import { ClientSyncLogError } from '../errors'
import { findObsoleteEntries } from '../history'
import { getObjectKey } from '../pk'
import type { ClientSyncLogEntry } from '../types'

/**
 * What deleteObsoleteEntries removes from `entries` (whole histories, sorted
 * by compareEntries): the obsolete entries of objects whose every entry is
 * shared and integrated, but never the entry with the greatest createdOn
 * (the clock restarts from it).
 */
export function obsoleteLogEntries(entries: ClientSyncLogEntry[]): ClientSyncLogEntry[] {
  const newest = entries.at(-1)
  const byObject = new Map<string, ClientSyncLogEntry[]>()
  for (const entry of entries) {
    const key = getObjectKey(entry.collection, entry.pk)
    const list = byObject.get(key) ?? []
    list.push(entry)
    byObject.set(key, list)
  }
  const obsolete: ClientSyncLogEntry[] = []
  for (const history of byObject.values()) {
    // Unsent entries (waiting, or in the outgoing quarantine, where a discard
    // may take them back) must not count as superseding shared ones.
    if (history.some((entry) => entry.needsIntegration || entry.sharedOn === null)) {
      continue
    }
    obsolete.push(...findObsoleteEntries(history, (entry) => entry !== newest))
  }
  return obsolete
}

/** The error to throw for a failed delete of log entries: a known backend limitation gets its explanation. */
export function explainDeleteFailure(error: unknown): unknown {
  if (/no such column: clientSyncLogEntry\.|missing FROM-clause entry for table "clientSyncLogEntry"/i.test(String((error as Error)?.message))) {
    return new ClientSyncLogError(
      'BACKEND_CANNOT_DELETE',
      'the storage backend failed to delete log entries: @worldbrain/storex-backend-typeorm 0.2.1 cannot run deleteObjects ' +
        'on collections with camelCase names (it aliases the table by the camelCase name). Nothing was deleted. Move SQL ' +
        'databases to @storex-sync/storex-backend-sql (see this package\'s README), or skip the cleanup.',
      { cause: error },
    )
  }
  return error
}
