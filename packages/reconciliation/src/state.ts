import { compareEntries, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { applyEntry, emptyState } from './internal/fold'

/**
 * What the default reconciler makes of one object's history: its fields
 * (without the pk, as entries carry them), or `null` when the object does not
 * exist. Needs no schema, so a server that does not know the app's
 * collections (the replica of @storex-sync/replica) decides exactly as the
 * devices do.
 */
export function foldObjectHistory(history: ClientSyncLogEntry[], options: { pkFields?: Iterable<string> } = {}): Record<string, unknown> | null {
  const sorted = [...history].sort(compareEntries)
  const state = emptyState()
  const pkFields = new Set(options.pkFields ?? [])
  sorted.forEach((entry, index) => {
    if (index > 0 && compareEntries(sorted[index - 1]!, entry) === 0) {
      return
    }
    applyEntry(state, entry, index, pkFields)
  })
  if (!state.exists) {
    return null
  }
  const object: Record<string, unknown> = {}
  for (const [field, winner] of state.fields) {
    object[field] = winner.value
  }
  return object
}
