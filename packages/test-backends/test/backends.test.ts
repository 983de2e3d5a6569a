import { afterEach, describe, expect, it } from 'vitest'
import { clientBackends, createPostgresStorage, findPostgresUrl, type TestStorage } from '@storex-sync/test-backends'

const collections = {
  note: {
    version: new Date('2024-01-01'),
    fields: { title: { type: 'string' as const }, done: { type: 'boolean' as const } },
  },
}

const postgres = await findPostgresUrl()
const opened: TestStorage[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.cleanup()))
})

describe.each(clientBackends)('$kind test backend', ({ create }) => {
  it('stores and finds objects with caller-given string ids', async () => {
    const storage = await create({ setup: (sm) => sm.registry.registerCollections(collections) })
    opened.push(storage)
    await storage.storageManager.collection('note').createObject({ id: 'n1', title: 'hello', done: false })
    expect(await storage.storageManager.collection('note').findObjects({ done: false })).toEqual([
      expect.objectContaining({ id: 'n1', title: 'hello', done: false }),
    ])
  })
})

describe('postgres test backend', () => {
  if ('skipReason' in postgres) {
    it.skip(`skipped: ${postgres.skipReason}`, () => {})
    console.warn(`[test-backends] PostgreSQL tests skipped: ${postgres.skipReason}`)
    return
  }
  it('creates a database of its own and drops it on cleanup', async () => {
    // The TypeORM backend maps storex booleans to `tinyint`, which PostgreSQL lacks.
    const storage = await createPostgresStorage({
      serverUrl: postgres.url,
      setup: (sm) =>
        sm.registry.registerCollections({
          note: { version: new Date('2024-01-01'), fields: { title: { type: 'string' }, rank: { type: 'int' } } },
        }),
    })
    opened.push(storage)
    await storage.storageManager.collection('note').createObject({ id: 'n1', title: 'hello', rank: 2 })
    expect(await storage.storageManager.collection('note').findObjects({ rank: 2 })).toEqual([
      expect.objectContaining({ id: 'n1', title: 'hello' }),
    ])
  })
})
