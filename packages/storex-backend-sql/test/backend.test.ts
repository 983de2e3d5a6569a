import { afterEach, describe, expect, it } from 'vitest'
import { SqlStorageBackend, StorexBackendSqlError } from '../src/index'
import type { AutoPkType } from '../src/index'
import { listIndices } from '../src/internal/migration'
import { StorageManager as StorexStorageManager } from '@storex-sync/storex-glue'
import { createFreshBackend, findMysql, findPostgres } from './servers'

const StorageManager: any = StorexStorageManager

const postgres = await findPostgres()
const mysql = await findMysql()

const productFields = {
  name: { type: 'string' },
  description: { type: 'text', optional: true },
  stock: { type: 'int', optional: true },
  price: { type: 'float', optional: true },
  active: { type: 'boolean', optional: true },
  releasedOn: { type: 'datetime', optional: true },
  updatedAt: { type: 'timestamp', optional: true },
  details: { type: 'json', optional: true },
}

for (const kind of ['sqlite', 'postgres', 'mysql'] as const) {
  const server = kind === 'postgres' ? postgres : kind === 'mysql' ? mysql : { url: undefined }
  const skipReason = 'skipReason' in server ? server.skipReason : undefined
  const serverUrl = 'url' in server ? server.url : undefined

  describe.skipIf(!!skipReason)(`SqlStorageBackend on ${kind}${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
    const cleanups: Array<() => Promise<void>> = []
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!()
    })

    async function setup(collections: Record<string, any>, autoPkType: AutoPkType = 'string') {
      const { backend, cleanup } = await createFreshBackend(kind, serverUrl, autoPkType)
      cleanups.push(cleanup)
      const storageManager = new StorageManager({ backend })
      storageManager.registry.registerCollections(collections)
      await storageManager.finishInitialization()
      await backend.migrate()
      return { storageManager, backend }
    }

    const productCollections = { product: { version: new Date(2024, 0, 1), fields: productFields, indices: [{ field: 'name' }] } }

    it('stores and reads back every field type, and null for omitted ones', async () => {
      const { storageManager } = await setup(productCollections)
      const full = {
        id: 'p1',
        name: 'Milk',
        description: 'x'.repeat(5000),
        stock: 2 ** 40,
        price: 1.25,
        active: true,
        releasedOn: new Date('2024-05-06T07:08:09.123Z'),
        updatedAt: 1_717_000_000_123,
        details: { tags: ['dairy'], nested: { a: 1 } },
      }
      const { object } = await storageManager.collection('product').createObject(full)
      expect(object).toEqual(full)
      await storageManager.collection('product').createObject({ id: 'p2', name: 'Eggs', active: false })
      expect(await storageManager.collection('product').findObject({ id: 'p1' })).toEqual(full)
      expect(await storageManager.collection('product').findObject({ id: 'p2' })).toEqual({
        id: 'p2', name: 'Eggs', description: null, stock: null, price: null, active: false, releasedOn: null, updatedAt: null, details: null,
      })
      expect(await storageManager.collection('product').findObjects({ active: false })).toHaveLength(1)
      expect(await storageManager.collection('product').findObjects({ releasedOn: { $gt: new Date('2024-01-01') } })).toHaveLength(1)
    })

    it('refuses an index on a relationship the collection lacks with UNKNOWN_FIELD, naming the collection', async () => {
      const error = await setup({ product: { ...productCollections.product, indices: [{ field: { relationship: 'nope' } }] } }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorexBackendSqlError)
      expect((error as StorexBackendSqlError).code).toBe('UNKNOWN_FIELD')
      expect((error as StorexBackendSqlError).detail).toMatch(/index of collection 'product' names {"relationship":"nope"}/)
    })

    it('fails createObject on a duplicate pk with DUPLICATE_PK and keeps the stored object', async () => {
      const { storageManager } = await setup(productCollections)
      await storageManager.collection('product').createObject({ id: 'p1', name: 'Milk' })
      const error = await storageManager.collection('product').createObject({ id: 'p1', name: 'Other' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorexBackendSqlError)
      expect((error as StorexBackendSqlError).code).toBe('DUPLICATE_PK')
      expect((await storageManager.collection('product').findObject({ id: 'p1' })).name).toBe('Milk')
    })

    it('runs executeBatch in one transaction: a failing operation leaves nothing behind', async () => {
      const { storageManager } = await setup(productCollections)
      await storageManager.collection('product').createObject({ id: 'taken', name: 'Taken' })
      const batch = [
        { operation: 'createObject', collection: 'product', args: { id: 'a', name: 'A' } },
        { operation: 'updateObjects', collection: 'product', where: { id: 'taken' }, updates: { name: 'Changed' } },
        { operation: 'createObject', collection: 'product', args: { id: 'taken', name: 'Duplicate' } },
      ]
      await expect(storageManager.operation('executeBatch', batch)).rejects.toThrow(/DUPLICATE|duplicate|already/)
      expect(await storageManager.collection('product').findObjects({})).toEqual([expect.objectContaining({ id: 'taken', name: 'Taken' })])
    })

    it('writes thousands of consecutive creates in a batch (multi-row inserts), then updates and deletes', async () => {
      const { storageManager } = await setup(productCollections)
      const batch: any[] = []
      for (let i = 0; i < 2500; i++) {
        batch.push({ operation: 'createObject', collection: 'product', args: { id: `p${i}`, name: `n${i % 10}`, stock: i, active: i % 2 === 0 } })
      }
      batch.push({ operation: 'updateObjects', collection: 'product', where: { name: 'n1' }, updates: { stock: -1 } })
      batch.push({ operation: 'deleteObjects', collection: 'product', where: { name: 'n2' } })
      await storageManager.operation('executeBatch', batch)
      expect(await storageManager.collection('product').countObjects({})).toBe(2250)
      expect(await storageManager.collection('product').countObjects({ stock: -1 })).toBe(250)
      expect(await storageManager.collection('product').countObjects({ active: true })).toBe(1000)
    })

    // Only SQLite caches prepared statements in this backend (better-sqlite3); the servers' drivers do not.
    if (kind !== 'sqlite') console.log(`skipped on ${kind}: the prepared-statement cache exists only for SQLite (better-sqlite3)`)
    it.runIf(kind === 'sqlite')('prepares a bounded number of multi-row INSERTs for batches of varying sizes (each cached statement holds memory)', async () => {
      const { storageManager, backend } = await setup(productCollections)
      let next = 0
      for (let size = 600; size < 700; size += 1) {
        const batch: any[] = []
        for (let i = 0; i < size; i++, next++) {
          batch.push({ operation: 'createObject', collection: 'product', args: { id: `p${next}`, name: `n${next}` } })
        }
        await storageManager.operation('executeBatch', batch)
      }
      expect(await storageManager.collection('product').countObjects({})).toBe(next)
      const inserts = [...((backend as any).runner.statements.keys() as Iterable<string>)].filter((text) => text.startsWith('INSERT INTO "product"'))
      expect(inserts.length).toBeLessThanOrEqual(11)
    })

    it('groups consecutive updates and deletes by pk in a batch, with every field type, keeping their order', async () => {
      const { storageManager } = await setup(productCollections)
      const created: any[] = []
      for (let i = 0; i < 30; i++) {
        created.push({ operation: 'createObject', collection: 'product', args: { id: `p${i}`, name: `n${i}`, stock: i, active: false } })
      }
      await storageManager.operation('executeBatch', created)
      const when = new Date('2024-06-07T08:09:10.111Z')
      const batch: any[] = []
      for (let i = 0; i < 20; i++) {
        batch.push({
          operation: 'updateObjects',
          collection: 'product',
          where: { id: `p${i}` },
          updates: { stock: 100 + i, active: i % 2 === 0, releasedOn: when, details: { i }, price: i / 4, description: null },
        })
      }
      // The same object again (must apply after the first), then another field set.
      batch.push({ operation: 'updateObjects', collection: 'product', where: { id: 'p0' }, updates: { stock: 999, active: true, releasedOn: when, details: { i: 0 }, price: 0, description: null } })
      batch.push({ operation: 'updateObjects', collection: 'product', where: { id: 'p1' }, updates: { name: 'renamed' } })
      batch.push({ operation: 'updateObjects', collection: 'product', where: { id: 'p2' }, updates: { name: 'renamed too' } })
      for (let i = 20; i < 26; i++) batch.push({ operation: 'deleteObjects', collection: 'product', where: { id: `p${i}` } })
      batch.push({ operation: 'createObject', collection: 'product', args: { id: 'p20', name: 'recreated' } })
      batch.push({ operation: 'deleteObjects', collection: 'product', where: { id: 'p29' } })
      await storageManager.operation('executeBatch', batch)
      const collection = storageManager.collection('product')
      expect(await collection.countObjects({})).toBe(30 - 6 + 1 - 1)
      expect(await collection.findObject({ id: 'p0' })).toMatchObject({ stock: 999, active: true, releasedOn: when, details: { i: 0 }, price: 0 })
      expect(await collection.findObject({ id: 'p1' })).toMatchObject({ name: 'renamed', stock: 101, active: false, price: 0.25 })
      expect(await collection.findObject({ id: 'p2' })).toMatchObject({ name: 'renamed too', stock: 102, active: true })
      expect(await collection.findObject({ id: 'p19' })).toMatchObject({ name: 'n19', stock: 119, active: false, details: { i: 19 }, releasedOn: when })
      expect(await collection.findObject({ id: 'p20' })).toMatchObject({ name: 'recreated', stock: null })
      expect(await collection.findObject({ id: 'p25' })).toBe(null)
      expect(await collection.findObject({ id: 'p26' })).toMatchObject({ stock: 26 })
    })

    it('supports $eq $ne $gt $gte $lt $lte $in $nin, order, limit and skip', async () => {
      const { storageManager } = await setup(productCollections)
      for (let i = 0; i < 20; i++) {
        await storageManager.collection('product').createObject({ id: `p${String(i).padStart(2, '0')}`, name: `n${i % 3}`, stock: i })
      }
      const ids = (objects: any[]) => objects.map((object) => object.id)
      const collection = storageManager.collection('product')
      expect(await collection.countObjects({ stock: { $eq: 3 } })).toBe(1)
      expect(await collection.countObjects({ stock: { $ne: 3 } })).toBe(19)
      expect(await collection.countObjects({ stock: { $gt: 15 } })).toBe(4)
      expect(await collection.countObjects({ stock: { $gte: 15, $lt: 18 } })).toBe(3)
      expect(await collection.countObjects({ stock: { $lte: 1 } })).toBe(2)
      expect(await collection.countObjects({ stock: { $in: [1, 2, 99] } })).toBe(2)
      const many = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`)
      expect(await collection.countObjects({ id: { $in: many } })).toBe(12)
      expect(await collection.countObjects({ id: { $nin: many } })).toBe(8)
      expect(await collection.countObjects({ id: { $in: [] } })).toBe(0)
      expect(ids(await collection.findObjects({ name: 'n1' }, { order: [['stock', 'desc']], limit: 2, skip: 1 }))).toEqual(['p16', 'p13'])
      expect(ids(await collection.findObjects({}, { order: [['name', 'asc'], ['stock', 'desc']], limit: 3 }))).toEqual(['p18', 'p15', 'p12'])
      expect(ids(await collection.findObjects({}, { order: [['stock', 'asc']], skip: 18 }))).toEqual(['p18', 'p19'])
    })

    it('deletes from camelCase collections and handles compound pks', async () => {
      const { storageManager } = await setup({
        shoppingItem: { version: new Date(2024, 0, 1), fields: { itemName: { type: 'string' } } },
        listEntry: {
          version: new Date(2024, 0, 1),
          fields: { listId: { type: 'string' }, position: { type: 'int' }, label: { type: 'string' } },
          indices: [{ field: ['listId', 'position'], pk: true }],
        },
      })
      await storageManager.collection('shoppingItem').createObject({ id: 'a', itemName: 'milk' })
      await storageManager.collection('shoppingItem').createObject({ id: 'b', itemName: 'bread' })
      await storageManager.collection('shoppingItem').deleteObjects({ id: 'b' })
      expect(await storageManager.collection('shoppingItem').findObjects({})).toEqual([{ id: 'a', itemName: 'milk' }])
      await storageManager.collection('listEntry').createObject({ listId: 'l', position: 1, label: 'one' })
      await storageManager.collection('listEntry').createObject({ listId: 'l', position: 2, label: 'two' })
      await expect(storageManager.collection('listEntry').createObject({ listId: 'l', position: 1, label: 'again' })).rejects.toThrow(StorexBackendSqlError)
      expect(await storageManager.collection('listEntry').countObjects({ listId: 'l' })).toBe(2)
    })

    it('creates missing tables, columns and indices when the registry grows, keeping the data', async () => {
      const { backend } = await setup(productCollections)
      const first = new StorageManager({ backend })
      first.registry.registerCollections(productCollections)
      await first.finishInitialization()
      await first.collection('product').createObject({ id: 'p1', name: 'Milk' })

      const second = new SqlStorageBackend({ connection: (backend as any).connection, closeConnection: false, autoPkType: 'string' })
      const storageManager = new StorageManager({ backend: second })
      storageManager.registry.registerCollections({
        product: {
          version: new Date(2024, 1, 1),
          fields: { ...productFields, origin: { type: 'string', optional: true } },
          indices: [{ field: 'name' }, { field: 'origin' }],
        },
        supplier: { version: new Date(2024, 1, 1), fields: { title: { type: 'string' } } },
      })
      await storageManager.finishInitialization()
      await second.migrate()
      await storageManager.collection('product').updateObjects({ id: 'p1' }, { origin: 'farm' })
      expect(await storageManager.collection('product').findObject({ origin: 'farm' })).toMatchObject({ id: 'p1', name: 'Milk', origin: 'farm' })
      await storageManager.collection('supplier').createObject({ id: 's1', title: 'Farm' })
      expect(await storageManager.collection('supplier').countObjects({})).toBe(1)
      const indexNames = await listIndexNames(second)
      expect(indexNames.some((name) => name.includes('product_origin'))).toBe(true)
      expect(indexNames.some((name) => name.includes('product_name'))).toBe(true)
    })

    it('generates int pks when autoPkType is int, and rejects a missing string pk with a clear error', async () => {
      const { storageManager } = await setup(productCollections, 'int')
      const { object: first } = await storageManager.collection('product').createObject({ name: 'a' })
      const { object: second } = await storageManager.collection('product').createObject({ name: 'b' })
      expect(typeof first.id).toBe('number')
      expect(second.id).toBeGreaterThan(first.id)
      const strings = await setup(productCollections, 'string')
      await expect(strings.storageManager.collection('product').createObject({ name: 'c' })).rejects.toThrow(/MISSING_PK|primary key/)
    })
  })
}

async function listIndexNames(backend: SqlStorageBackend): Promise<string[]> {
  return [...(await listIndices((backend as any).runner, (backend as any).dialect))]
}
