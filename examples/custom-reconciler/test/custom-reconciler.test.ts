import { describe, expect, it } from 'vitest'
import * as storex from '@worldbrain/storex'
import type { ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { runShopCatalogues } from '@storex-sync/example-shop-catalogues'
import { deleteLosesToLaterEdit } from '../src/reconciler'
import { lowestPriceWins } from '../src/lowest-price'

const registry = new storex.StorageRegistry()
registry.registerCollections({
  product: {
    version: new Date('2024-01-01'),
    fields: { id: { type: 'string' }, name: { type: 'string' }, stock: { type: 'int' }, price: { type: 'float', optional: true } },
    pkIndex: 'id',
  },
  item: { version: new Date('2024-01-01'), fields: { id: { type: 'string' }, title: { type: 'string' } }, pkIndex: 'id' },
})

const entry = (operation: ClientSyncLogEntry['operation'], createdOn: number, deviceId: string, value?: object, needsIntegration = true) =>
  ({ operation, collection: 'product', pk: 'p1', createdOn, deviceId, sharedOn: 1, needsIntegration, ...(value ? { value } : {}) }) as ClientSyncLogEntry

/** Runs create/update/delete-by-id operations on a map of objects by id. */
function apply(objects: Record<string, Record<string, unknown>>, operations: any[]) {
  const result = structuredClone(objects)
  for (const operation of operations) {
    if (operation.operation === 'createObject') result[operation.args.id] = { ...operation.args }
    else if (operation.operation === 'deleteObjects') delete result[operation.where.id]
    else if (operation.operation === 'updateObjects') Object.assign(result[operation.where.id]!, operation.updates)
    else throw new Error(`unexpected ${operation.operation}`)
  }
  return result
}

describe('deleteLosesToLaterEdit', () => {
  it('brings back an object edited after its delete, with all its fields, where the default keeps it deleted', async () => {
    const history = [
      entry('create', 1, 'a', { name: 'Radio', stock: 3 }, false),
      entry('delete', 2, 'a', undefined, false),
      entry('modify', 3, 'b', { stock: 7 }),
    ]
    expect(await reconcileSyncLog(history, { storageRegistry: registry })).toEqual([])
    expect(await deleteLosesToLaterEdit(history, { storageRegistry: registry })).toEqual([
      { operation: 'createObject', collection: 'product', args: { id: 'p1', name: 'Radio', stock: 7 } },
    ])
  })

  it('changes nothing on the device that made the edit, and lets a delete after every edit win', async () => {
    const onEditor = [
      entry('create', 1, 'a', { name: 'Radio', stock: 3 }, false),
      entry('delete', 2, 'a'),
      entry('modify', 3, 'b', { stock: 7 }, false),
    ]
    const operations = await deleteLosesToLaterEdit(onEditor, { storageRegistry: registry })
    // Applied to what the editor holds, the operations leave it as it is.
    expect(apply({ p1: { id: 'p1', name: 'Radio', stock: 7 } }, operations)).toEqual({ p1: { id: 'p1', name: 'Radio', stock: 7 } })
    const deletedLast = [
      entry('create', 1, 'a', { name: 'Radio', stock: 3 }, false),
      entry('modify', 2, 'b', { stock: 7 }, false),
      entry('delete', 3, 'a'),
    ]
    expect(await deleteLosesToLaterEdit(deletedLast, { storageRegistry: registry })).toEqual(
      await reconcileSyncLog(deletedLast, { storageRegistry: registry }),
    )
  })

  it('swapped into the shops: the radio deleted in north comes back everywhere with east\'s later stock count', async () => {
    const lines: string[] = []
    const report = await runShopCatalogues({ reconciler: deleteLosesToLaterEdit, reconcilerName: 'deleteLosesToLaterEdit', print: (line) => lines.push(line) })
    expect(report.ok).toBe(true)
    expect(report.products.map((product) => [product['sku'], product['priceCents'], product['stock']])).toEqual([
      ['K-100', 2499, 12],
      ['R-300', 2499, 7],
      ['T-200', 3499, 5],
    ])
    expect(lines.join('\n')).toContain('Conflict rules: deleteLosesToLaterEdit.')
  })
})

describe('lowestPriceWins (the reconciliation README\'s example)', () => {
  it('keeps the lowest price any shop set, the last writer\'s other fields, and leaves other collections to the default', async () => {
    const item = { operation: 'create', collection: 'item', pk: 'i1', createdOn: 4, deviceId: 'b', sharedOn: 1, needsIntegration: true, value: { title: 'note' } } as ClientSyncLogEntry
    const entries = [
      entry('create', 1, 'a', { name: 'Tea', price: 4 }, false),
      entry('modify', 2, 'b', { price: 3.5 }),
      entry('modify', 3, 'c', { name: 'Green tea', price: 5 }),
      item,
    ]
    const operations = await lowestPriceWins(entries, { storageRegistry: registry })
    const products = operations.filter((operation) => operation.collection === 'product')
    expect(apply({ p1: { id: 'p1', name: 'Tea', price: 4 } }, products)).toEqual({ p1: { id: 'p1', name: 'Green tea', price: 3.5 } })
    expect(operations.filter((operation) => operation.collection === 'item')).toEqual(await reconcileSyncLog([item], { storageRegistry: registry }))
  })
})
