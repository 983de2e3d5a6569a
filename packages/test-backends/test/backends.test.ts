import { afterEach, describe, expect, it } from 'vitest'
import {
  clientBackends,
  createMysqlStorage,
  createPostgresStorage,
  findMysqlUrl,
  findPostgresUrl,
  type TestStorage,
} from '@storex-sync/test-backends'

const collections = {
  note: {
    version: new Date('2024-01-01'),
    fields: {
      title: { type: 'string' as const },
      done: { type: 'boolean' as const },
      due: { type: 'datetime' as const, optional: true },
      rank: { type: 'int' as const, optional: true },
    },
  },
}

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

  it('hands the StorageManager out as setup left it when setup initializes it itself (setupInitializes)', async () => {
    let initializations = 0
    const storage = await create({
      setupInitializes: true,
      setup: async (sm) => {
        sm.registry.registerCollections(collections)
        sm.registry.on('initialized', () => void (initializations += 1))
        await sm.finishInitialization()
        await (sm.backend as { migrate?: () => Promise<void> }).migrate?.()
      },
    })
    opened.push(storage)
    expect(initializations).toBe(1)
    await storage.storageManager.collection('note').createObject({ id: 'n1', title: 'set up by setup', done: false })
    expect(await storage.storageManager.collection('note').findObjects({})).toEqual([expect.objectContaining({ id: 'n1' })])
  })
})

const servers = [
  { kind: 'postgres', found: await findPostgresUrl(), create: createPostgresStorage },
  { kind: 'mysql', found: await findMysqlUrl(), create: createMysqlStorage },
] as const

for (const { kind, found, create } of servers) {
  describe(`${kind} test backend`, () => {
    if ('skipReason' in found) {
      it.skip(`skipped: ${found.skipReason}`, () => {})
      console.warn(`[test-backends] ${kind} tests skipped: ${found.skipReason}`)
      return
    }
    it('creates a database of its own, stores booleans and datetimes, and drops it on cleanup', async () => {
      const storage = await create({ serverUrl: found.url, setup: (sm) => sm.registry.registerCollections(collections) })
      opened.push(storage)
      const due = new Date('2024-03-04T05:06:07.089Z')
      await storage.storageManager.collection('note').createObject({ id: 'n1', title: 'hello', done: true, due, rank: 2 })
      expect(await storage.storageManager.collection('note').findObjects({ rank: 2, done: true })).toEqual([
        { id: 'n1', title: 'hello', done: true, due, rank: 2 },
      ])
    })
  })
}
