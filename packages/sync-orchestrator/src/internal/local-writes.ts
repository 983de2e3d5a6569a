import { getPkWhere, type ClientSyncLogEntry, type DeviceId, type ObjectHistory, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'

/** doSync's `reconcileLocalWrites` option wins; otherwise the reconciler's own flag; off by default. */
export function reconcilesLocalWrites(options: { reconcileLocalWrites?: boolean; reconciler?: ReconcilerFunction }): boolean {
  if (options.reconcileLocalWrites !== undefined) {
    return options.reconcileLocalWrites === true
  }
  return options.reconciler?.reconcileLocalWrites === true
}

/**
 * What the reconciler gets for a batch of objects, and the steps that run
 * before its operations (see the ReconcilerFunction contract):
 * - with `reconcileLocalWrites`, each object whose history holds a create is
 *   rewritten: every entry is passed as needing integration, and the object
 *   is deleted first, so the reconciler's operations create it as its
 *   verdict on the whole history says (or leave it absent);
 * - otherwise, and for objects without a create, own entries are passed as
 *   integrated (they were applied directly when written), whatever their mark.
 */
export function prepareReconcilerInput(
  objects: ObjectHistory[],
  options: { reconcileLocalWrites: boolean; deviceId?: DeviceId; storageRegistry: StorageRegistry },
): { entries: ClientSyncLogEntry[]; before: OperationBatch } {
  const entries: ClientSyncLogEntry[] = []
  const before: OperationBatch = []
  const isOwn = (entry: ClientSyncLogEntry) => options.deviceId !== undefined && entry.deviceId === options.deviceId
  for (const object of objects) {
    if (options.reconcileLocalWrites && object.entries.some((entry) => entry.operation === 'create')) {
      before.push({
        operation: 'deleteObjects',
        collection: object.collection,
        where: getPkWhere(options.storageRegistry, object.collection, object.pk),
      })
      for (const entry of object.entries) {
        entries.push(entry.needsIntegration ? entry : { ...entry, needsIntegration: true })
      }
      continue
    }
    for (const entry of object.entries) {
      entries.push(entry.needsIntegration && isOwn(entry) ? { ...entry, needsIntegration: false } : entry)
    }
  }
  return { entries, before }
}
