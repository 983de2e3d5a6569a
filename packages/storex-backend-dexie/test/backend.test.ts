import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { DexieStorageBackend as LegacyDexieStorageBackend } from '@worldbrain/storex-backend-dexie'
import { StorageManager } from '@storex-sync/storex-glue'
import { DexieStorageBackend, StorexBackendDexieError, deleteDexieDatabase } from '../src'

const entryFields = {
  id: { type: 'string' as const },
  createdOn: { type: 'float' as const },
  unshared: { type: 'int' as const },
  needsIntegration: { type: 'int' as const },
  objectKey: { type: 'string' as const },
  label: { type: 'string' as const, optional: true },
}
const entryV1 = {
  version: new Date('2025-01-01'),
  fields: entryFields,
  indices: [{ field: 'id', pk: true }, { field: 'createdOn' }, { field: 'objectKey' }, { field: 'unshared' }, { field: 'needsIntegration' }],
}
const entryV2 = {
  version: new Date('2026-01-01'),
  fields: entryFields,
  indices: [...entryV1.indices, { field: ['unshared', 'createdOn'] }, { field: ['needsIntegration', 'createdOn'] }],
}
const noteCollection = {
  version: new Date('2024-01-01'),
  fields: { title: { type: 'string' as const }, score: { type: 'int' as const }, done: { type: 'boolean' as const } },
  indices: [{ field: 'title' }],
}

let databases = 0

function catchError(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

async function open(options: {
  factory?: IDBFactory
  dbName?: string
  legacy?: boolean
  entryVersions?: any[]
}) {
  const factory = options.factory ?? new IDBFactory()
  const dbName = options.dbName ?? `backend-test-${(databases += 1)}`
  const backend = options.legacy
    ? new LegacyDexieStorageBackend({ dbName, idbImplementation: { factory, range: IDBKeyRange as any } })
    : new DexieStorageBackend({ dbName, idbImplementation: { factory, range: IDBKeyRange } })
  const storageManager = new StorageManager({ backend: backend as any })
  storageManager.registry.registerCollections({ note: structuredClone(noteCollection) })
  storageManager.registry.registerCollection('entry', (options.entryVersions ?? [entryV2]).map((definition) => ({ ...definition })))
  await storageManager.finishInitialization()
  const close = () => ((backend as any).dexieInstance ?? (backend as any).dexie).close()
  return { backend: backend as DexieStorageBackend, storageManager, factory, dbName, close }
}

function entry(index: number, overrides: Record<string, unknown> = {}) {
  return {
    id: `e${String(index).padStart(5, '0')}`,
    createdOn: 1000 + ((index * 7919) % 1000) + index / 10_000,
    unshared: index % 3 === 0 ? 1 : 0,
    needsIntegration: index % 4 === 0 ? 1 : index % 5 === 0 ? 2 : 0,
    objectKey: `note:${index % 17}`,
    ...overrides,
  }
}

/** IndexedDB's own view of a database: version, stores, key paths, index names. */
async function describeDatabase(factory: IDBFactory, name: string) {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open(name)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  const storeNames = Array.from(db.objectStoreNames)
  const transaction = db.transaction(storeNames, 'readonly')
  const stores = Object.fromEntries(
    storeNames.map((storeName) => {
      const store = transaction.objectStore(storeName)
      return [storeName, { keyPath: store.keyPath, autoIncrement: store.autoIncrement, indices: Array.from(store.indexNames).sort() }]
    }),
  )
  const version = db.version
  db.close()
  return { version, stores }
}

describe('storex-backend-dexie: databases of @worldbrain/storex-backend-dexie 0.3.1', () => {
  it('opens a database 0.3.1 created, with the same layout, and reads and writes its data', async () => {
    const legacy = await open({ legacy: true })
    await legacy.storageManager.collection('note').createObject({ title: 'Milk', score: 3, done: false })
    await legacy.storageManager.operation('executeBatch', [
      { operation: 'createObject', collection: 'entry', args: entry(1) },
      { operation: 'createObject', collection: 'entry', args: entry(3) },
    ])
    const layoutBefore = await describeDatabase(legacy.factory, legacy.dbName)
    legacy.close()

    const ours = await open({ factory: legacy.factory, dbName: legacy.dbName })
    const notes: any[] = await ours.storageManager.collection('note').findObjects({})
    expect(notes).toEqual([{ id: expect.anything(), title: 'Milk', score: 3, done: false }])
    const unshared: any[] = await ours.storageManager.collection('entry').findObjects({ unshared: 1 }, { order: [['createdOn', 'asc']], limit: 10 })
    expect(unshared.map((row) => row.id)).toEqual(['e00003'])
    await ours.storageManager.collection('note').updateObjects({ id: notes[0].id }, { score: 4 })
    ours.close()
    expect(await describeDatabase(legacy.factory, legacy.dbName)).toEqual(layoutBefore)

    // And back: 0.3.1 still reads what this backend wrote.
    const again = await open({ factory: legacy.factory, dbName: legacy.dbName, legacy: true })
    expect(await again.storageManager.collection('note').findObjects({})).toEqual([{ ...notes[0], score: 4 }])
    again.close()
  })

  it('upgrades a 0.3.1 database when a collection gains indices in a new version, keeping its data', async () => {
    const legacy = await open({ legacy: true, entryVersions: [entryV1] })
    await legacy.storageManager.operation('executeBatch', [0, 1, 2, 3, 4, 5, 6].map((index) => ({ operation: 'createObject', collection: 'entry', args: entry(index) })))
    const before = await describeDatabase(legacy.factory, legacy.dbName)
    legacy.close()
    expect(before.stores['entry']!.indices).not.toContain('[unshared+createdOn]')

    const ours = await open({ factory: legacy.factory, dbName: legacy.dbName, entryVersions: [entryV1, entryV2] })
    const pending: any[] = await ours.storageManager.collection('entry').findObjects({ needsIntegration: 1 }, { order: [['createdOn', 'asc']] })
    expect(pending.map((row) => row.id)).toEqual(['e00000', 'e00004'])
    expect(ours.backend.explain('entry', { needsIntegration: 1 }, { order: [['createdOn', 'asc']], limit: 2 })).toMatchObject({
      kind: 'index',
      index: '[needsIntegration+createdOn]',
      ordered: true,
      covered: true,
    })
    ours.close()
    const after = await describeDatabase(legacy.factory, legacy.dbName)
    expect(after.version).toBeGreaterThan(before.version)
    expect(after.stores['entry']!.indices).toEqual([...before.stores['entry']!.indices, '[needsIntegration+createdOn]', '[unshared+createdOn]'].sort())
  })
})

describe('storex-backend-dexie: query planning', () => {
  it('reads paginated, ordered queries from one compound index range, in order, without sorting', async () => {
    const { backend } = await open({})
    expect(backend.explain('entry', { unshared: 1 }, { order: [['createdOn', 'asc']], limit: 1000 })).toMatchObject({
      kind: 'index',
      index: '[unshared+createdOn]',
      ordered: true,
      covered: true,
    })
    expect(backend.explain('entry', {}, { order: [['createdOn', 'desc']], limit: 1 })).toMatchObject({ index: 'createdOn', ordered: true, reverse: true })
    expect(backend.explain('entry', { id: { $in: ['a', 'b'] } })).toEqual({ kind: 'get', keys: ['a', 'b'], covered: true })
    expect(backend.explain('entry', { objectKey: { $in: ['a', 'b'] } })).toMatchObject({ index: 'objectKey', range: { type: 'anyOf' }, covered: true })
    expect(backend.explain('entry', { id: { $in: ['a'] }, needsIntegration: 1 })).toMatchObject({ kind: 'get', covered: false })
    expect(backend.explain('note', { done: true })).toMatchObject({ kind: 'scan', covered: false })
  })

  it('returns what a plain JavaScript filter and sort of every object returns, for any where, order and limit', async () => {
    const { storageManager } = await open({})
    const rows = Array.from({ length: 120 }, (_, index) => entry(index, index % 9 === 0 ? { label: `L${index % 4}` } : {}))
    await storageManager.operation('executeBatch', rows.map((args) => ({ operation: 'createObject', collection: 'entry', args })))
    const all = rows.map((row) => ({ label: null, ...row }))

    const field = fc.constantFrom('unshared', 'needsIntegration', 'objectKey', 'createdOn', 'id', 'label')
    const valueFor = (name: string): fc.Arbitrary<unknown> =>
      name === 'unshared' ? fc.constantFrom(0, 1) : name === 'needsIntegration' ? fc.constantFrom(0, 1, 2)
        : name === 'objectKey' ? fc.constantFrom(...Array.from({ length: 18 }, (_, index) => `note:${index}`))
        : name === 'createdOn' ? fc.double({ min: 990, max: 2010, noNaN: true })
        : name === 'id' ? fc.constantFrom(...rows.slice(0, 30).map((row) => row.id), 'missing')
        : fc.constantFrom('L0', 'L1', 'L2', 'L3', null)
    const condition = field.chain((name) =>
      fc.oneof(
        valueFor(name).map((value) => [name, value] as const),
        fc.array(valueFor(name), { minLength: 1, maxLength: 4 }).map((values) => [name, { $in: values }] as const),
        fc.tuple(fc.constantFrom('$gt', '$gte', '$lt', '$lte', '$ne'), valueFor(name)).map(([op, value]) => [name, { [op]: value }] as const),
      ),
    )
    const query = fc.record({
      conditions: fc.array(condition, { maxLength: 3 }),
      order: fc.option(fc.tuple(fc.constantFrom('createdOn', 'id', 'objectKey'), fc.constantFrom('asc', 'desc')), { nil: undefined }),
      limit: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
    })
    const compare = (a: any, b: any) => (a < b ? -1 : a > b ? 1 : 0)
    const test = (stored: any, cond: any): boolean => {
      if (cond === null) return stored === null || stored === undefined
      if (typeof cond !== 'object') return stored === cond
      const [[op, value]] = Object.entries(cond) as [[string, any]]
      if (op === '$in') return value.some((item: any) => test(stored, item))
      if (op === '$ne') return !test(stored, value)
      if (value === null || stored === null || typeof stored !== typeof value) return false
      const result = compare(stored, value)
      return op === '$gt' ? result > 0 : op === '$gte' ? result >= 0 : op === '$lt' ? result < 0 : result <= 0
    }

    await fc.assert(
      fc.asyncProperty(query, async ({ conditions, order, limit }) => {
        const where: Record<string, unknown> = {}
        for (const [name, cond] of conditions) where[name] = cond
        let expected = all.filter((row) => Object.entries(where).every(([name, cond]) => test((row as any)[name], cond)))
        if (order) {
          const [orderField, direction] = order
          expected = [...expected].sort((a: any, b: any) => compare(a[orderField], b[orderField]) * (direction === 'desc' ? -1 : 1))
        }
        const found: any[] = await storageManager.collection('entry').findObjects(where, {
          ...(order ? { order: [order] } : {}),
          ...(limit ? { limit } : {}),
        })
        if (order) {
          // Ties in the order field may come in any order: compare the order field's values, then the sets.
          const [orderField] = order
          const expectedPage = limit ? expected.slice(0, limit) : expected
          expect(found.map((row) => row[orderField])).toEqual(expectedPage.map((row: any) => row[orderField]))
          if (new Set(expected.map((row: any) => row[orderField])).size === expected.length) {
            expect(found.map((row) => row.id)).toEqual(expectedPage.map((row) => row.id))
          }
        } else {
          expect(found.length).toBe(limit ? Math.min(limit, expected.length) : expected.length)
          const expectedIds = new Set(expected.map((row) => row.id))
          for (const row of found) expect(expectedIds.has(row.id)).toBe(true)
        }
        expect(await storageManager.collection('entry').countObjects(where)).toBe(expected.length)
      }),
      { numRuns: 300, seed: 15 },
    )
  })
})

describe('storex-backend-dexie: batches', () => {
  it('writes a whole batch in one transaction: a failing step leaves nothing of the batch behind', async () => {
    const { storageManager } = await open({})
    await expect(
      storageManager.operation('executeBatch', [
        { operation: 'createObject', collection: 'entry', args: entry(1) },
        { operation: 'updateObjects', collection: 'entry', where: { id: entry(1).id }, updates: { unshared: 0 } },
        // Not storable (IndexedDB cannot clone a function): the transaction aborts.
        { operation: 'createObject', collection: 'note', args: { title: 'x', score: 1, done: false, broken: () => 1 } },
      ]),
    ).rejects.toThrow()
    expect(await storageManager.collection('entry').countObjects({})).toBe(0)
    expect(await storageManager.collection('note').countObjects({})).toBe(0)
  })

  it('refuses a reference to a placeholder no earlier step named, or an unknown operation, with BAD_BATCH, writing nothing', async () => {
    const { storageManager } = await open({})
    const refusal = await storageManager
      .operation('executeBatch', [
        { operation: 'createObject', collection: 'entry', args: entry(1) },
        { operation: 'createObject', collection: 'note', args: { title: 'x', score: 1, done: false }, replace: [{ path: 'title', placeholder: 'nope' }] },
      ])
      .catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(StorexBackendDexieError)
    expect(refusal).toMatchObject({ code: 'BAD_BATCH' })
    expect((refusal as StorexBackendDexieError).detail).toMatch(/placeholder "nope"/)
    expect(await storageManager.collection('entry').countObjects({})).toBe(0)
    expect(await storageManager.collection('note').countObjects({})).toBe(0)
    await expect(storageManager.operation('executeBatch', [{ operation: 'upsertObject', collection: 'entry', args: entry(2) }])).rejects.toMatchObject({
      code: 'BAD_BATCH',
    })
  })

  it('applies creates, updates and deletes in batch order', async () => {
    const { storageManager } = await open({})
    await storageManager.operation('executeBatch', [
      { operation: 'createObject', collection: 'entry', args: entry(1) },
      { operation: 'createObject', collection: 'entry', args: entry(2) },
      { operation: 'updateObjects', collection: 'entry', where: { id: { $in: [entry(1).id, entry(2).id] } }, updates: { needsIntegration: 7 } },
      { operation: 'createObject', collection: 'entry', args: entry(3) },
      { operation: 'deleteObjects', collection: 'entry', where: { id: entry(2).id } },
      { operation: 'updateObjects', collection: 'entry', where: { needsIntegration: 7 }, updates: { label: 'seen' } },
    ])
    const rows: any[] = await storageManager.collection('entry').findObjects({}, { order: [['id', 'asc']] })
    expect(rows.map((row) => [row.id, row.needsIntegration, row.label])).toEqual([
      [entry(1).id, 7, 'seen'],
      [entry(3).id, entry(3).needsIntegration, null],
    ])
  })
})

describe('storex-backend-dexie: batches with placeholders', () => {
  it('fills a childOf field from an object created earlier in the batch, stored under the relationship field', async () => {
    const factory = new IDBFactory()
    const backend = new DexieStorageBackend({ dbName: 'placeholders', idbImplementation: { factory, range: IDBKeyRange } })
    const storageManager = new StorageManager({ backend: backend as any })
    storageManager.registry.registerCollections({
      user: { version: new Date('2024-01-01'), fields: { id: { type: 'string' }, displayName: { type: 'string' } }, indices: [{ field: 'id', pk: true }] },
      email: {
        version: new Date('2024-01-01'),
        fields: { id: { type: 'string' }, address: { type: 'string' } },
        indices: [{ field: 'id', pk: true }],
        relationships: [{ childOf: 'user' }],
      },
    })
    await storageManager.finishInitialization()
    await storageManager.operation('executeBatch', [
      { operation: 'createObject', collection: 'user', placeholder: 'joe', args: { id: 'u1', displayName: 'Joe' } },
      { operation: 'createObject', collection: 'email', args: { id: 'e1', address: 'joe@example.com' }, replace: [{ path: 'user', placeholder: 'joe' }] },
    ])
    expect(await storageManager.collection('email').findObjects({ user: 'u1' })).toEqual([{ id: 'e1', address: 'joe@example.com', user: 'u1' }])
    backend.dexieInstance.close()
  })
})

describe('storex-backend-dexie: errors', () => {
  it('says what to do on bad options, unknown collections and unsupported operators', async () => {
    expect(() => new DexieStorageBackend({ dbName: '' })).toThrow(/@storex-sync\/storex-backend-dexie: .*dbName/)
    const badOption = { code: 'INVALID_OPTION', name: 'StorexBackendDexieError' }
    expect(catchError(() => new DexieStorageBackend({ dbName: '' }))).toMatchObject(badOption)
    expect(catchError(() => new DexieStorageBackend({ dbName: 'x', stemmer: () => [], stemmerSelector: () => null }))).toMatchObject(badOption)
    const { storageManager, backend } = await open({})
    await expect(backend.migrate({ database: 'other' })).rejects.toMatchObject(badOption)
    await expect(backend.rawCreateObjects('note', [], { withNestedObjects: true } as any)).rejects.toMatchObject(badOption)
    await expect(backend.findObjects('nope', {})).rejects.toThrow(StorexBackendDexieError)
    await expect(backend.findObjects('nope', {})).rejects.toThrow(/unknown collection 'nope': register it/)
    await expect(storageManager.collection('entry').findObjects({ id: { $regex: 'x' } })).rejects.toThrow(/unsupported operator \$regex/)
    expect(backend.supports('transaction')).toBe(false)
    await expect(backend.transaction({ collections: ['entry'] }, async () => {})).rejects.toThrow(/one executeBatch/)
    const unused = new DexieStorageBackend({ dbName: 'unused', idbImplementation: { factory: new IDBFactory(), range: IDBKeyRange } })
    expect(() => unused.dexieInstance).toThrow(/finishInitialization/)
  })
})

describe('storex-backend-dexie: deleteDexieDatabase', () => {
  it('deletes a closed database with its data, so opening it again starts empty', async () => {
    const first = await open({})
    await first.storageManager.collection('note').createObject({ title: 'gone', score: 1, done: false })
    await first.backend.cleanup()
    await deleteDexieDatabase({ dbName: first.dbName, idbImplementation: { factory: first.factory, range: IDBKeyRange } })
    expect(await first.factory.databases()).toEqual([])
    const again = await open({ factory: first.factory, dbName: first.dbName })
    expect(await again.storageManager.collection('note').countObjects({})).toBe(0)
    again.close()
  })

  it('says what to do where there is no IndexedDB', async () => {
    // Take away a global IndexedDB (a test set-up may install one) for the time of this test.
    const global = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')
    if (global) delete (globalThis as { indexedDB?: unknown }).indexedDB
    try {
      expect('indexedDB' in globalThis).toBe(false)
      await expect(deleteDexieDatabase({ dbName: 'x' })).rejects.toThrow(/pass idbImplementation/)
      await expect(deleteDexieDatabase({ dbName: 'x' })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    } finally {
      if (global) Object.defineProperty(globalThis, 'indexedDB', global)
    }
  })
})
