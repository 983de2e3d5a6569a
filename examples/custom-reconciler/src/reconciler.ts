import {
  compareEntries,
  getObjectKey,
  type ClientSyncLogEntry,
  type ReconcilerFunction,
} from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'

/**
 * "A delete loses to a later edit": when someone edits an object after
 * another device deleted it (by the entries' order, the same on every
 * device), the object comes back with all its fields and the edit.
 *
 * Written as a rewrite of the history before the default reconciler runs:
 * the first modify after a delete becomes a create carrying every field the
 * object had before the delete plus the modify's own. The default rules then
 * recreate the object (a create after a delete recreates). A delete that
 * sorts after every edit still wins.
 *
 * It sets `reconcileLocalWrites`: the rewrite of an entry already applied
 * here can depend on entries received later (a modify that sorts before the
 * delete adds its fields to the create that brings the object back), so the
 * default's diff from "the integrated entries" would start from a state the
 * database does not hold (simulation seed 344: devices kept different
 * fields). With the flag, doSync rewrites each object from nothing, and the
 * verdict on the whole history is all that matters.
 */
export const deleteLosesToLaterEdit: ReconcilerFunction = (entries, options) => {
  const byObject = new Map<string, ClientSyncLogEntry[]>()
  for (const entry of entries) {
    const key = getObjectKey(entry.collection, entry.pk)
    byObject.set(key, [...(byObject.get(key) ?? []), entry])
  }
  const rewritten: ClientSyncLogEntry[] = []
  for (const history of byObject.values()) {
    let fields: Record<string, unknown> = {}
    let deletedAfterFields = false
    for (const entry of [...history].sort(compareEntries)) {
      if (entry.operation === 'create') {
        fields = { ...entry.value }
        deletedAfterFields = false
        rewritten.push(entry)
      } else if (entry.operation === 'modify') {
        fields = { ...fields, ...entry.value }
        if (deletedAfterFields) {
          // Brought back: a create with everything the object had, plus this edit.
          rewritten.push({ ...entry, operation: 'create', value: { ...fields } } as ClientSyncLogEntry)
          deletedAfterFields = false
        } else {
          rewritten.push(entry)
        }
      } else {
        deletedAfterFields = Object.keys(fields).length > 0
        rewritten.push(entry)
      }
    }
  }
  return reconcileSyncLog(rewritten, options)
}
// Its operations must start from nothing: see above.
deleteLosesToLaterEdit.reconcileLocalWrites = true
