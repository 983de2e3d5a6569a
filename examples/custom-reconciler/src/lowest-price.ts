// The reconciliation README's custom reconciler, verbatim between the markers
// (test/reconcilers-converge.test.ts checks that it still matches the README).
// --- README code ---
import type { OperationBatch } from '@worldbrain/storex'
import {
  compareEntries, getObjectKey, getPkWhere,
  type ClientSyncLogEntry, type ReconcilerFunction,
} from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'

export const lowestPriceWins: ReconcilerFunction = (entries, options) => {
  const others = entries.filter((entry) => entry.collection !== 'product')
  const operations: OperationBatch = reconcileSyncLog(others, options)

  const histories = new Map<string, ClientSyncLogEntry[]>()
  for (const entry of entries) {
    if (entry.collection === 'product') {
      const key = getObjectKey(entry.collection, entry.pk)
      histories.set(key, [...(histories.get(key) ?? []), entry])
    }
  }
  for (const key of [...histories.keys()].sort()) {
    const history = histories.get(key)!.sort(compareEntries)
    if (!history.some((entry) => entry.operation === 'create')) {
      continue // never created here: leave it alone, like the default does
    }
    let product: Record<string, unknown> | null = null
    for (const entry of history) {
      if (entry.operation === 'delete') {
        product = null
      } else if (entry.operation === 'create' && !product) {
        product = { ...entry.value }
      } else if (product) {
        for (const [field, value] of Object.entries(entry.value)) {
          const lower = field === 'price' && typeof product.price === 'number' && (value as number) > product.price
          product[field] = lower ? product.price : value
        }
      }
    }
    const where = getPkWhere(options.storageRegistry, 'product', history[0]!.pk)
    operations.push({ operation: 'deleteObjects', collection: 'product', where })
    if (product) {
      operations.push({ operation: 'createObject', collection: 'product', args: { ...product, ...where } })
    }
  }
  return operations
}
// A price rise is not applied as written: own writes must pass through the reconciler too.
lowestPriceWins.reconcileLocalWrites = true

// doSync({ ..., reconciler: lowestPriceWins })
// --- end ---
