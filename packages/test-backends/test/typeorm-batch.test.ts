// The root patch of @worldbrain/storex-backend-typeorm makes createObject an
// INSERT (no SELECT first) and turns consecutive createObject steps of one
// collection in executeBatch into multi-row INSERTs. These tests pin what
// callers see: the same results per placeholder, the same value cleaning
// (json, booleans, datetimes, missing optional fields), a duplicate pk fails
// and rolls the whole batch back, and objects without a pk on generated-pk
// collections still get their generated ids.
import { afterEach, describe, expect, it } from 'vitest'
import {
  createPostgresStorage,
  createSqliteStorage,
  findPostgresUrl,
  type CreateTestStorageOptions,
  type TestStorage,
} from '@storex-sync/test-backends'

const postgres = await findPostgresUrl()
const opened: TestStorage[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.cleanup()))
})

interface Backend {
  kind: 'sqlite' | 'postgres'
  /** The TypeORM backend cannot create boolean or datetime columns on PostgreSQL. */
  booleansAndDates: boolean
  create(options: CreateTestStorageOptions): Promise<TestStorage>
}

const backends: Backend[] = [{ kind: 'sqlite', booleansAndDates: true, create: createSqliteStorage }]
if ('url' in postgres) {
  const serverUrl = postgres.url
  backends.push({ kind: 'postgres', booleansAndDates: false, create: (options) => createPostgresStorage({ ...options, serverUrl }) })
} else {
  console.warn(`[test-backends] PostgreSQL batch tests skipped: ${postgres.skipReason}`)
  it.skip(`postgres: skipped: ${postgres.skipReason}`, () => {})
}

function collectionsFor(backend: Backend) {
  const version = new Date('2024-01-01')
  return {
    note: {
      version,
      fields: {
        title: { type: 'string' as const },
        data: { type: 'json' as const },
        rank: { type: 'float' as const, optional: true },
        ...(backend.booleansAndDates
          ? { done: { type: 'boolean' as const }, due: { type: 'datetime' as const, optional: true } }
          : {}),
      },
    },
    comment: {
      version,
      fields: { noteId: { type: 'string' as const }, text: { type: 'string' as const } },
    },
  }
}

async function open(backend: Backend, autoPkType: 'string' | 'int' = 'string') {
  const storage = await backend.create({
    autoPkType,
    setup: (sm) => sm.registry.registerCollections(collectionsFor(backend)),
  })
  opened.push(storage)
  return storage
}

/** Records the SQL the backend sends, through TypeORM's logger. */
function recordQueries(storage: TestStorage): string[] {
  const queries: string[] = []
  const connection = (storage.storageManager.backend as any).connection
  const logger = connection.logger
  connection.logger = new Proxy(logger, {
    get(target, property) {
      if (property === 'logQuery') {
        return (query: string) => {
          queries.push(query)
        }
      }
      return Reflect.get(target, property)
    },
  })
  return queries
}

function noteValues(backend: Backend, index: number) {
  return {
    title: `note ${index}`,
    data: { index, tags: ['a', String(index)], nested: { even: index % 2 === 0 } },
    ...(index % 3 === 0 ? { rank: index / 4 } : {}),
    ...(backend.booleansAndDates
      ? { done: index % 2 === 0, ...(index % 5 === 0 ? { due: new Date(1_700_000_000_000 + index) } : {}) }
      : {}),
  }
}

function expectedNote(backend: Backend, id: string, index: number) {
  const values = noteValues(backend, index) as Record<string, unknown>
  return {
    id,
    ...values,
    rank: values.rank ?? null,
    ...(backend.booleansAndDates ? { due: values.due ?? null } : {}),
  }
}

describe.each(backends)('patched TypeORM batches on $kind', (backend) => {
  it('writes 1200 creates as a few multi-row INSERTs and keeps every placeholder result', async () => {
    const storage = await open(backend)
    const sm = storage.storageManager
    const queries = recordQueries(storage)
    const batch = Array.from({ length: 1200 }, (_, index) => ({
      operation: 'createObject',
      collection: 'note',
      placeholder: `n${index}`,
      args: { id: `note-${index}`, ...noteValues(backend, index) },
    }))
    const { info } = await sm.operation('executeBatch', batch)

    const inserts = queries.filter((query) => /^INSERT/i.test(query))
    expect(inserts).toHaveLength(3) // chunks of 500 rows
    expect(queries.filter((query) => /^SELECT/i.test(query))).toEqual([])
    expect(Object.keys(info)).toHaveLength(1200)
    for (const index of [0, 1, 2, 3, 5, 499, 500, 1199]) {
      expect(info[`n${index}`]).toEqual({ object: expectedNote(backend, `note-${index}`, index) })
    }
    expect(await sm.collection('note').countObjects({})).toBe(1200)
    const stored = await sm.collection('note').findObjects({ id: { $in: ['note-0', 'note-3', 'note-10', 'note-1199'] } })
    expect(stored.sort((a: any, b: any) => a.title.localeCompare(b.title))).toEqual(
      [0, 10, 1199, 3].map((index) => expectedNote(backend, `note-${index}`, index)),
    )
  })

  it('returns from a single createObject what the batch returns, and stores the same', async () => {
    const storage = await open(backend)
    const sm = storage.storageManager
    const { object } = await sm.collection('note').createObject({ id: 'single', ...noteValues(backend, 15) })
    expect(object).toEqual(expectedNote(backend, 'single', 15))
    expect(await sm.collection('note').findObject({ id: 'single' })).toEqual(expectedNote(backend, 'single', 15))
  })

  it('keeps the order of steps: creates after deletes and updates of the same pks, other collections between', async () => {
    const storage = await open(backend)
    const sm = storage.storageManager
    await sm.collection('note').createObject({ id: 'old', ...noteValues(backend, 1) })
    const { info } = await sm.operation('executeBatch', [
      { operation: 'createObject', collection: 'note', placeholder: 'a', args: { id: 'a', ...noteValues(backend, 2) } },
      { operation: 'deleteObjects', collection: 'note', where: { id: 'old' } },
      { operation: 'createObject', collection: 'note', placeholder: 'old', args: { id: 'old', ...noteValues(backend, 3) } },
      { operation: 'createObject', collection: 'comment', placeholder: 'c1', args: { id: 'c1', noteId: 'a', text: 'first' } },
      { operation: 'createObject', collection: 'note', placeholder: 'b', args: { id: 'b', ...noteValues(backend, 4) } },
      { operation: 'updateObjects', collection: 'note', where: { id: 'b' }, updates: { title: 'b updated' } },
      {
        operation: 'createObject',
        collection: 'comment',
        placeholder: 'c2',
        args: { id: 'c2', text: 'on b' },
        replace: [{ path: 'noteId', placeholder: 'b' }],
      },
    ])
    expect(info.old).toEqual({ object: expectedNote(backend, 'old', 3) })
    expect(info.c2).toEqual({ object: { id: 'c2', noteId: 'b', text: 'on b' } })
    expect(await sm.collection('note').findObject({ id: 'old' })).toEqual(expectedNote(backend, 'old', 3))
    expect(await sm.collection('note').findObject({ id: 'b' })).toEqual({ ...expectedNote(backend, 'b', 4), title: 'b updated' })
    expect(await sm.collection('comment').findObjects({ noteId: { $in: ['a', 'b'] } }, { order: [['id', 'asc']] })).toEqual([
      { id: 'c1', noteId: 'a', text: 'first' },
      { id: 'c2', noteId: 'b', text: 'on b' },
    ])
  })

  it('fails on a duplicate pk inside a batch and rolls the whole batch back', async () => {
    const storage = await open(backend)
    const sm = storage.storageManager
    await sm.collection('note').createObject({ id: 'kept', ...noteValues(backend, 1) })
    await expect(
      sm.operation('executeBatch', [
        { operation: 'updateObjects', collection: 'note', where: { id: 'kept' }, updates: { title: 'changed' } },
        { operation: 'createObject', collection: 'comment', args: { id: 'c1', noteId: 'kept', text: 'x' } },
        ...Array.from({ length: 700 }, (_, index) => ({
          operation: 'createObject',
          collection: 'note',
          args: { id: `n${index % 600}`, ...noteValues(backend, index) }, // n0..n99 twice, in another chunk
        })),
      ]),
    ).rejects.toThrow(/UNIQUE|duplicate key/i)
    expect(await sm.collection('note').findObjects({})).toEqual([expectedNote(backend, 'kept', 1)])
    expect(await sm.collection('comment').countObjects({})).toBe(0)
  })

  it('fails on a pk that is already stored, in a batch and in createObject, leaving the stored object as it was', async () => {
    const storage = await open(backend)
    const sm = storage.storageManager
    await sm.collection('note').createObject({ id: 'kept', ...noteValues(backend, 1) })
    await expect(
      sm.operation('executeBatch', [
        { operation: 'createObject', collection: 'note', args: { id: 'new', ...noteValues(backend, 2) } },
        { operation: 'createObject', collection: 'note', args: { id: 'kept', ...noteValues(backend, 3) } },
      ]),
    ).rejects.toThrow(/UNIQUE|duplicate key/i)
    await expect(sm.collection('note').createObject({ id: 'kept', ...noteValues(backend, 4) })).rejects.toThrow(
      /UNIQUE|duplicate key/i,
    )
    expect(await sm.collection('note').findObjects({})).toEqual([expectedNote(backend, 'kept', 1)])
  })

  it('gives objects without a pk their generated ids on auto-increment collections, even in a batch of grouped creates', async () => {
    const storage = await open(backend, 'int')
    const sm = storage.storageManager
    const { info } = await sm.operation('executeBatch', [
      { operation: 'createObject', collection: 'note', placeholder: 'a', args: noteValues(backend, 1) },
      { operation: 'createObject', collection: 'note', placeholder: 'b', args: noteValues(backend, 2) },
      {
        operation: 'createObject',
        collection: 'comment',
        placeholder: 'c',
        args: { text: 'on b' },
        replace: [{ path: 'noteId', placeholder: 'b' }],
      },
    ])
    expect(typeof info.a.object.id).toBe('number')
    expect(info.b.object.id).toBeGreaterThan(info.a.object.id)
    expect(info.c.object).toEqual({ id: expect.any(Number), noteId: info.b.object.id, text: 'on b' })
    expect(info.b.object).toEqual(expectedNote(backend, info.b.object.id, 2))
    expect(await sm.collection('note').countObjects({})).toBe(2)
  })
})
