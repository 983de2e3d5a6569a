import { checkEntry } from '@storex-sync/client-sync-log'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as storex from '@worldbrain/storex'
import type { ClientSyncLogEntry, ReconcilerFunction } from '@storex-sync/client-sync-log'
import { clientBackends, type TestStorage } from '@storex-sync/test-backends'
import { createReconciler, reconcileSyncLog, ReconciliationError } from '@storex-sync/reconciliation'
import { isSyncError } from '@storex-sync/errors'
import { applyBatch, clearDatabase, collections, entry, readSnapshot, registerCollections } from './helpers'

const storageRegistry = new storex.StorageRegistry()
storageRegistry.registerCollections({
  ...(collections as any),
  listEntry: {
    version: new Date('2020-01-01'),
    fields: { list: { type: 'string' }, pos: { type: 'int' }, label: { type: 'string' } },
    indices: [{ field: ['list', 'pos'] as any, pk: true }],
    pkIndex: ['list', 'pos'],
  },
})

const reconcile = (entries: ClientSyncLogEntry[], doubleCreateBehaviour?: 'merge' | 'error') =>
  reconcileSyncLog(entries, { storageRegistry, doubleCreateBehaviour })

function catchError(run: () => unknown): ReconciliationError {
  try {
    run()
  } catch (error) {
    return error as ReconciliationError
  }
  throw new Error('expected an error')
}

describe('reconcileSyncLog rules', () => {
  it('creates a received object with its pk and all its fields', () => {
    expect(reconcile([entry('create', { needsIntegration: true, value: { title: 'one', count: 1 } })])).toEqual([
      { operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 'one', count: 1 } },
    ])
  })

  it('does nothing when nothing needs integration', () => {
    expect(
      reconcile([
        entry('create', { createdOn: 1, value: { title: 'one', count: 1 } }),
        entry('modify', { createdOn: 2, value: { title: 'two' } }),
      ]),
    ).toEqual([])
  })

  it('consolidates a received create with later modifications into one createObject', () => {
    expect(
      reconcile([
        entry('modify', { createdOn: 2, deviceId: 'b', needsIntegration: true, value: { title: 'second' } }),
        entry('create', { createdOn: 1, needsIntegration: true, value: { title: 'first', count: 5 } }),
      ]),
    ).toEqual([{ operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 'second', count: 5 } }])
  })

  it('updates only the fields whose winning write is new', () => {
    expect(
      reconcile([
        entry('create', { createdOn: 1, value: { title: 'one', count: 1 } }),
        entry('modify', { createdOn: 3, value: { title: 'mine' } }),
        entry('modify', { createdOn: 2, deviceId: 'b', needsIntegration: true, value: { title: 'older', count: 2 } }),
      ]),
    ).toEqual([{ operation: 'updateObjects', collection: 'item', where: { id: 'item-1' }, updates: { count: 2 } }])
  })

  it('emits nothing when every received write lost to a newer integrated one', () => {
    expect(
      reconcile([
        entry('create', { createdOn: 1, value: { title: 'one', count: 1 } }),
        entry('modify', { createdOn: 5, value: { title: 'newest' } }),
        entry('modify', { createdOn: 3, deviceId: 'b', needsIntegration: true, value: { title: 'older' } }),
      ]),
    ).toEqual([])
  })

  it('drops modifications of an object whose create it has not seen (no half objects)', () => {
    expect(
      reconcile([
        entry('modify', { createdOn: 1, needsIntegration: true, value: { title: 'x' } }),
        entry('modify', { createdOn: 2, needsIntegration: true, value: { count: 3 } }),
      ]),
    ).toEqual([])
  })

  it('lets a delete win over a concurrent modification, even one with a later clock', () => {
    const created = entry('create', { createdOn: 1, value: { title: 'one', count: 1 } })
    expect(
      reconcile([
        created,
        entry('modify', { createdOn: 4, value: { title: 'edited' } }),
        entry('delete', { createdOn: 3, deviceId: 'b', needsIntegration: true }),
      ]),
    ).toEqual([{ operation: 'deleteObjects', collection: 'item', where: { id: 'item-1' } }])
    // and the received modification of an object deleted here is ignored
    expect(
      reconcile([
        created,
        entry('delete', { createdOn: 3 }),
        entry('modify', { createdOn: 2, deviceId: 'b', needsIntegration: true, value: { title: 'late' } }),
      ]),
    ).toEqual([])
  })

  it('replaces the object when it was deleted and created again', () => {
    expect(
      reconcile([
        entry('create', { createdOn: 1, value: { title: 'one', count: 1, note: 'old note' } }),
        entry('delete', { createdOn: 2, deviceId: 'b', needsIntegration: true }),
        entry('create', { createdOn: 3, deviceId: 'b', needsIntegration: true, value: { title: 'again', count: 2 } }),
      ]),
    ).toEqual([
      { operation: 'deleteObjects', collection: 'item', where: { id: 'item-1' } },
      { operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 'again', count: 2 } },
    ])
  })

  it('recreates an object deleted here when a newer create arrives', () => {
    expect(
      reconcile([
        entry('create', { createdOn: 1, value: { title: 'one', count: 1 } }),
        entry('delete', { createdOn: 2 }),
        entry('create', { createdOn: 3, deviceId: 'b', needsIntegration: true, value: { title: 'back', count: 0 } }),
      ]),
    ).toEqual([{ operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 'back', count: 0 } }])
  })

  it('breaks clock ties on deviceId, the same way whatever order the entries come in', () => {
    const entries = [
      entry('create', { createdOn: 1, value: { title: 'one', count: 1 } }),
      entry('modify', { createdOn: 7, deviceId: 'device-b', needsIntegration: true, value: { title: 'from b' } }),
      entry('modify', { createdOn: 7, deviceId: 'device-a', needsIntegration: true, value: { title: 'from a' } }),
    ]
    const expected = [{ operation: 'updateObjects', collection: 'item', where: { id: 'item-1' }, updates: { title: 'from b' } }]
    expect(reconcile(entries)).toEqual(expected)
    expect(reconcile([...entries].reverse())).toEqual(expected)
    // numeric device ids compare as numbers: 10 is after 9
    const numeric = [
      entry('create', { createdOn: 1, deviceId: 1, value: { title: 'one', count: 1 } }),
      entry('modify', { createdOn: 7, deviceId: 10, needsIntegration: true, value: { count: 10 } }),
      entry('modify', { createdOn: 7, deviceId: 9, needsIntegration: true, value: { count: 9 } }),
    ]
    expect(reconcile(numeric)).toEqual([
      { operation: 'updateObjects', collection: 'item', where: { id: 'item-1' }, updates: { count: 10 } },
    ])
  })

  it('handles several objects and collections at once, in a fixed order', () => {
    const entries = [
      entry('create', { pk: 'b', needsIntegration: true, createdOn: 1, value: { title: 'b', count: 2 } }),
      entry('create', { pk: 'p1', collection: 'product', needsIntegration: true, createdOn: 2, value: { name: 'tea', price: 3 } }),
      entry('create', { pk: 'a', createdOn: 3, value: { title: 'a', count: 1 } }),
      entry('delete', { pk: 'a', needsIntegration: true, deviceId: 'z', createdOn: 4 }),
    ]
    const operations = reconcile(entries)
    expect(operations).toEqual([
      { operation: 'deleteObjects', collection: 'item', where: { id: 'a' } },
      { operation: 'createObject', collection: 'item', args: { id: 'b', title: 'b', count: 2 } },
      { operation: 'createObject', collection: 'product', args: { id: 'p1', name: 'tea', price: 3 } },
    ])
    expect(reconcile([entries[3]!, entries[1]!, entries[0]!, entries[2]!])).toEqual(operations)
  })

  it('takes the pk from the entry, never from the value', () => {
    expect(reconcile([entry('create', { needsIntegration: true, value: { id: 'other', title: 't', count: 1 } })])).toEqual([
      { operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 't', count: 1 } },
    ])
  })

  it('addresses objects with compound pks by all their pk fields', () => {
    const pk = ['list-one', 3]
    expect(
      reconcile([
        entry('create', { collection: 'listEntry', pk, createdOn: 1, value: { label: 'x' } }),
        entry('modify', { collection: 'listEntry', pk, createdOn: 2, needsIntegration: true, value: { label: 'y' } }),
        entry('delete', { collection: 'listEntry', pk: ['list-one', 4], createdOn: 3, needsIntegration: true }),
        entry('create', { collection: 'listEntry', pk: ['list-one', 4], createdOn: 1, value: { label: 'z' } }),
      ]),
    ).toEqual([
      { operation: 'updateObjects', collection: 'listEntry', where: { list: 'list-one', pos: 3 }, updates: { label: 'y' } },
      { operation: 'deleteObjects', collection: 'listEntry', where: { list: 'list-one', pos: 4 } },
    ])
  })

  it('ignores a repeated copy of the same entry', () => {
    const created = entry('create', { createdOn: 1, value: { title: 'one', count: 1 } })
    expect(reconcile([created, { ...created, needsIntegration: true }])).toEqual([])
  })

  describe('double creates', () => {
    const doubleCreate = [
      entry('create', { createdOn: 1, deviceId: 'a', value: { title: 'first', count: 1, note: 'kept' } }),
      entry('create', { createdOn: 2, deviceId: 'b', needsIntegration: true, value: { title: 'second', count: 1 } }),
    ]

    it("merges by default: the later create's fields act as modifications", () => {
      expect(reconcile(doubleCreate)).toEqual([
        { operation: 'updateObjects', collection: 'item', where: { id: 'item-1' }, updates: { title: 'second', count: 1 } },
      ])
      expect(reconcile(doubleCreate, 'merge')).toEqual(reconcile(doubleCreate))
      // both received: one createObject with the merged fields
      expect(reconcile(doubleCreate.map((e) => ({ ...e, needsIntegration: true })))).toEqual([
        { operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 'second', count: 1, note: 'kept' } },
      ])
    })

    it("throws DOUBLE_CREATE with 'error', naming the object and how to avoid it", () => {
      const error = catchError(() => reconcile(doubleCreate, 'error'))
      expect(error).toBeInstanceOf(ReconciliationError)
      expect(isSyncError(error)).toBe(true)
      expect(error.code).toBe('DOUBLE_CREATE')
      expect(error.message).toMatch(/^@storex-sync\/reconciliation: collection 'item', pk "item-1" was created twice/)
      expect(error.message).toContain('@storex-sync/custom-pk')
      expect(error.message).toContain("doubleCreateBehaviour: 'merge'")
      expect(() => createReconciler({ doubleCreateBehaviour: 'error' })(doubleCreate, { storageRegistry })).toThrowError(
        expect.objectContaining({ code: 'DOUBLE_CREATE' }),
      )
    })

    it("does not call a create after a delete a double create, even with 'error'", () => {
      expect(
        reconcile(
          [
            doubleCreate[0]!,
            entry('delete', { createdOn: 2, deviceId: 'a' }),
            entry('create', { createdOn: 3, deviceId: 'b', needsIntegration: true, value: { title: 'new', count: 0 } }),
          ],
          'error',
        ),
      ).toEqual([{ operation: 'createObject', collection: 'item', args: { id: 'item-1', title: 'new', count: 0 } }])
    })
  })

  describe('errors', () => {
    it('rejects entries of a collection the registry does not know', () => {
      const error = catchError(() => reconcile([entry('create', { collection: 'ghost', needsIntegration: true, value: {} })]))
      expect(error).toBeInstanceOf(ReconciliationError)
      expect(error.code).toBe('UNKNOWN_COLLECTION')
      expect(error.message).toContain("'ghost'")
      expect(error.message).toContain('register the collection')
    })

    it('rejects what the one entry check of client-sync-log rejects, e.g. an empty device id or a clock value past 2^53', () => {
      for (const bad of [
        { ...entry('create', { needsIntegration: true, value: {} }), deviceId: '' },
        { ...entry('create', { needsIntegration: true, value: {} }), createdOn: 2 ** 53 },
      ]) {
        const error = catchError(() => reconcile([bad as ClientSyncLogEntry]))
        expect(error).toBeInstanceOf(ReconciliationError)
        expect(error.code).toBe(checkEntry(bad)!.reason)
      }
    })

    it('rejects unknown operations', () => {
      const bad = { ...entry('modify', { needsIntegration: true, value: {} }), operation: 'upsert' } as unknown as ClientSyncLogEntry
      const error = catchError(() => reconcile([bad]))
      expect(error.code).toBe('UNKNOWN_OPERATION')
      expect(error.message).toContain('"upsert"')
    })

    it('rejects missing options and bad doubleCreateBehaviour values', () => {
      expect(catchError(() => reconcileSyncLog([], undefined as any)).code).toBe('INVALID_OPTION')
      expect(catchError(() => reconcile([], 'ignore' as any)).code).toBe('INVALID_OPTION')
    })
  })

  it('scales to big syncs: 100k entries over 25k objects in seconds (a quadratic scan would take minutes)', () => {
    const entries: ClientSyncLogEntry[] = []
    for (let object = 0; object < 25_000; object += 1) {
      const pk = `o${object}`
      entries.push(entry('create', { pk, createdOn: 1, needsIntegration: object % 2 === 0, value: { title: 't', count: 0 } }))
      entries.push(entry('modify', { pk, createdOn: 3, deviceId: 'b', needsIntegration: true, value: { count: 1 } }))
      entries.push(entry('modify', { pk, createdOn: 2, deviceId: 'c', needsIntegration: true, value: { title: 'u' } }))
      entries.push(entry('delete', { pk, createdOn: 4, deviceId: 'd', needsIntegration: object % 3 !== 0 }))
    }
    const started = performance.now()
    const operations = reconcile(entries)
    const elapsed = performance.now() - started
    expect(operations.length).toBeGreaterThan(0)
    // generous bound: measured 200k entries in 4.7 s on a heavily loaded 2-core machine
    expect(elapsed).toBeLessThan(15_000)
  })
})

/**
 * A custom reconciler written for this test, as the README's contract allows:
 * a catalogue whose products are never deleted (their deletes are dropped),
 * everything else the default's. (The README's own example, lowestPriceWins,
 * lives in examples/custom-reconciler, which checks it against the README and
 * runs it through the simulation.)
 */
const productsNeverDeleted: ReconcilerFunction = (entries, options) =>
  reconcileSyncLog(entries.filter((candidate) => !(candidate.collection === 'product' && candidate.operation === 'delete')), options)
// A device that deletes a product itself would otherwise keep it deleted while the others keep it.
productsNeverDeleted.reconcileLocalWrites = true

describe.each(clientBackends)('a custom reconciler that wraps the default (products are never deleted) on $kind', ({ create }) => {
  let storage: TestStorage
  beforeAll(async () => {
    storage = await create({ setup: registerCollections })
  })
  afterAll(async () => {
    await storage?.cleanup()
  })

  it('drops what its rule drops and leaves the rest to the default, in one batch the backend applies', async () => {
    const { storageManager } = storage
    await clearDatabase(storageManager)
    await storageManager.collection('product').createObject({ id: 'p1', name: 'Tea', price: 4 })
    const entries = [
      entry('create', { collection: 'product', pk: 'p1', createdOn: 1, deviceId: 'shop-a', value: { name: 'Tea', price: 4 } }),
      entry('modify', { collection: 'product', pk: 'p1', createdOn: 2, deviceId: 'shop-b', needsIntegration: true, value: { price: 3.5 } }),
      entry('delete', { collection: 'product', pk: 'p1', createdOn: 3, deviceId: 'shop-c', needsIntegration: true }),
      entry('create', { pk: 'i1', createdOn: 4, deviceId: 'shop-b', needsIntegration: true, value: { title: 'note', count: 1 } }),
    ]
    await applyBatch(storageManager, await productsNeverDeleted(entries, { storageRegistry: storageManager.registry }))
    expect(await readSnapshot(storageManager)).toEqual({
      product: { p1: { id: 'p1', name: 'Tea', price: 3.5 } },
      item: { i1: { id: 'i1', title: 'note', count: 1 } },
    })
    // The default, given the same entries, deletes the product.
    expect(await reconcileSyncLog(entries, { storageRegistry: storageManager.registry })).toContainEqual(
      expect.objectContaining({ operation: 'deleteObjects', collection: 'product' }),
    )
  })
})
