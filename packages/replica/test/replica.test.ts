import { afterEach, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { MemorySharedSyncLog, type SharedSyncLogEntryData } from '@storex-sync/shared-sync-log-core'
import { createPostgresStorage, createSqliteStorage, findPostgresUrl, type TestStorage } from '@storex-sync/test-backends'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { SyncReplica, withReplica } from '../src'

const USER = 'alice'
const postgres = await findPostgresUrl()
if ('skipReason' in postgres) console.warn(`@storex-sync/replica: PostgreSQL cases skipped: ${postgres.skipReason}`)

const backends: Array<{ kind: string; create: (setup: (storageManager: any) => void) => Promise<TestStorage> }> = [
  { kind: 'sqlite', create: (setup) => createSqliteStorage({ setup }) },
  ...('url' in postgres ? [{ kind: 'postgres', create: (setup: (storageManager: any) => void) => createPostgresStorage({ setup, serverUrl: postgres.url }) }] : []),
]

function data(value: SharedSyncLogEntryData): string {
  return JSON.stringify(value)
}

describe.each(backends)('SyncReplica on $kind', ({ create }) => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })

  async function setup() {
    const log = new MemorySharedSyncLog()
    let replica!: SyncReplica
    const storage = await create((storageManager) => {
      replica = new SyncReplica({ storageManager, sharedSyncLog: log })
      registerModuleMapCollections(storageManager.registry, { replica })
    })
    cleanups.push(() => storage.cleanup())
    const device = await log.createDeviceId({ userId: USER })
    let clock = 1000
    const write = (...items: SharedSyncLogEntryData[]) =>
      log.writeEntries(items.map((item) => ({ createdOn: clock++, data: data(item) })), { userId: USER, deviceId: device })
    return { log, replica, device, write }
  }

  it('integrates the log by the default rules and keeps at most fields + 1 entries per live object, a tombstone per deleted one', async () => {
    const { replica, write } = await setup()
    await write({ operation: 'create', collection: 'note', pk: 'n1', value: { title: 'a', body: 'x' } })
    for (let edit = 0; edit < 20; edit += 1) {
      await write({ operation: 'modify', collection: 'note', pk: 'n1', value: edit % 2 ? { title: `t${edit}` } : { body: `b${edit}` } })
    }
    await write({ operation: 'create', collection: 'note', pk: 'n2', value: { title: 'gone' } })
    await write({ operation: 'modify', collection: 'note', pk: 'n2', value: { title: 'still gone' } })
    await write({ operation: 'delete', collection: 'note', pk: 'n2' })
    await write({ operation: 'modify', collection: 'note', pk: 'missing', value: { title: 'no half objects' } })

    expect(await replica.catchUp(USER)).toEqual({ entries: 25, objects: 3, quarantined: 0 })
    expect(await replica.getObject({ userId: USER, collection: 'note', pk: 'n1' })).toEqual({ title: 't19', body: 'b18' })
    expect(await replica.getObject({ userId: USER, collection: 'note', pk: 'n2' })).toBeNull()
    const { objects } = await replica.getObjects({ userId: USER })
    expect(objects).toEqual([{ collection: 'note', pk: 'n1', object: { title: 't19', body: 'b18' } }])

    const snapshot = await replica.getSnapshotPage({ userId: USER })
    const histories = new Map(snapshot.objects.map((object) => [object.pk, object.entries.map((entry) => JSON.parse(entry.data).operation)]))
    expect(histories.get('n1')).toEqual(['create', 'modify', 'modify'])
    expect(histories.get('n2')).toEqual(['delete'])
    expect(histories.get('missing')).toEqual(['modify'])
    expect(snapshot.totals).toEqual({ objects: 3, entries: 5, bytes: expect.any(Number) })
    expect(snapshot.totals.bytes).toBe(snapshot.objects.flatMap((object) => object.entries).reduce((sum, entry) => sum + Buffer.byteLength(entry.data), 0))
    expect(await replica.getStats(USER)).toEqual({ objects: 3, liveObjects: 1, entries: 5, bytes: snapshot.totals.bytes })
  })

  it('pages a snapshot in a stable order with the same memo and totals on every page', async () => {
    const { replica, write } = await setup()
    for (let index = 0; index < 25; index += 1) {
      await write({ operation: 'create', collection: 'item', pk: `i${String(index).padStart(2, '0')}`, value: { n: index } })
    }
    const first = await replica.getSnapshotPage({ userId: USER, limit: 10 })
    await write({ operation: 'create', collection: 'item', pk: 'later', value: { n: 99 } })
    const pages = [first]
    while (pages[pages.length - 1]!.cursor) {
      pages.push(await replica.getSnapshotPage({ userId: USER, cursor: pages[pages.length - 1]!.cursor, limit: 10 }))
    }
    expect(pages.map((page) => page.objects.length)).toEqual([10, 10, 5])
    expect(new Set(pages.map((page) => JSON.stringify([page.memo, page.totals]))).size).toBe(1)
    expect(first.totals.objects).toBe(25)
    const pks = pages.flatMap((page) => page.objects.map((object) => object.pk))
    expect(pks).toEqual([...pks].sort())
    await expect(replica.getSnapshotPage({ userId: USER, cursor: 'not a cursor' })).rejects.toMatchObject({ code: 'INVALID_CURSOR' })
  })

  it('keeps entries it cannot decode aside without blocking the others, once', async () => {
    const { log, replica, device, write } = await setup()
    await log.writeEntries([{ createdOn: 1, data: '{not json' }], { userId: USER, deviceId: device })
    await write({ operation: 'create', collection: 'note', pk: 'ok', value: { title: 'fine' } })
    expect(await replica.catchUp(USER)).toMatchObject({ entries: 2, quarantined: 1 })
    expect(await replica.getObject({ userId: USER, collection: 'note', pk: 'ok' })).toEqual({ title: 'fine' })
    const [kept] = await replica.getQuarantinedEntries(USER)
    expect(kept).toMatchObject({ reason: 'UNDECODABLE_ENTRY', data: '{not json', createdOn: 1 })
    expect(await replica.catchUp(USER)).toEqual({ entries: 0, objects: 0, quarantined: 0 })
    expect(await replica.getQuarantinedEntries(USER)).toHaveLength(1)
  })

  it('compacts the log below what it integrated, through withReplica', async () => {
    const { log, replica, device } = await setup()
    const shared = withReplica(log, replica)
    for (let index = 0; index < 10; index += 1) {
      await shared.writeEntries([{ createdOn: 100 + index, data: data({ operation: 'modify', collection: 'note', pk: 'n', value: { v: index } }) }], { userId: USER, deviceId: device })
    }
    // The writer has not read its own part of the log: it holds compaction back until it does.
    expect((await shared.compact!({ userId: USER, retentionMs: 60_000 })).deletedEntries).toBe(0)
    const update = await shared.getUnsyncedEntries({ userId: USER, deviceId: device })
    await shared.markAsSeen(update, { userId: USER, deviceId: device })
    expect(await shared.compact!({ userId: USER, retentionMs: 60_000 })).toMatchObject({ deletedEntries: 10, remainingEntries: 0 })
    const newcomer = await shared.createDeviceId({ userId: USER })
    await expect(shared.getUnsyncedEntries({ userId: USER, deviceId: newcomer })).rejects.toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
    const snapshot = await shared.getSnapshotPage!({ userId: USER, deviceId: newcomer })
    await shared.markAsSeen({ memo: snapshot.memo }, { userId: USER, deviceId: newcomer })
    expect((await shared.getUnsyncedEntries({ userId: USER, deviceId: newcomer })).entries).toEqual([])
  })
})

describe('SyncReplica and clocks', () => {
  it('keeps an entry from a clock far ahead aside, and integrates it once time has caught up', async () => {
    const log = new MemorySharedSyncLog()
    const clock = { now: 1_000_000 }
    let replica!: SyncReplica
    const storage = await createSqliteStorage({
      setup: (storageManager) => {
        replica = new SyncReplica({ storageManager, sharedSyncLog: log, now: () => clock.now, maxClockDriftMs: 60_000 })
        registerModuleMapCollections(storageManager.registry, { replica })
      },
    })
    try {
      const device = await log.createDeviceId({ userId: USER })
      const ahead = (clock.now + 10 * 60_000) * 1000
      await log.writeEntries([{ createdOn: ahead, data: data({ operation: 'create', collection: 'note', pk: 'future', value: { title: 'from ahead' } }) }], { userId: USER, deviceId: device })
      expect(await replica.catchUp(USER)).toMatchObject({ quarantined: 1 })
      expect(await replica.getObject({ userId: USER, collection: 'note', pk: 'future' })).toBeNull()
      expect((await replica.getQuarantinedEntries(USER))[0]).toMatchObject({ reason: 'CLOCK_OUT_OF_RANGE' })
      clock.now += 10 * 60_000
      await replica.catchUp(USER)
      expect(await replica.getObject({ userId: USER, collection: 'note', pk: 'future' })).toEqual({ title: 'from ahead' })
      expect(await replica.getQuarantinedEntries(USER)).toEqual([])
      expect(await replica.getStats(USER)).toMatchObject({ objects: 1, liveObjects: 1, entries: 1 })
    } finally {
      await storage.cleanup()
    }
  })
})

describe('SyncReplica with the app reconciler', () => {
  it('holds what a custom reconciler decides, keeps the whole history when it is not compactable, and refuses to run without the schema', async () => {
    const log = new MemorySharedSyncLog()
    // Lowest price wins: a verdict that looks at every write, so nothing may be compacted away.
    const lowestPriceWins: ReconcilerFunction = (entries) => {
      const byPk = new Map<string, typeof entries>()
      for (const entry of entries) byPk.set(String(entry.pk), [...(byPk.get(String(entry.pk)) ?? []), entry])
      return [...byPk.values()].flatMap((history) => {
        const prices = history.flatMap((entry) => (entry.operation !== 'delete' && typeof entry.value['price'] === 'number' ? [entry.value['price'] as number] : []))
        const created = history.find((entry) => entry.operation === 'create')
        if (!created || created.operation !== 'create') return []
        return [{ operation: 'createObject', collection: created.collection, args: { ...created.value, price: Math.min(...prices), id: created.pk } }]
      })
    }
    let replica!: SyncReplica
    const storage = await createSqliteStorage({
      setup: (storageManager) => {
        storageManager.registry.registerCollections({ product: { version: new Date('2024-01-01'), fields: { name: { type: 'string' }, price: { type: 'int' } } } })
        replica = new SyncReplica({ storageManager, sharedSyncLog: log, reconciler: lowestPriceWins, storageRegistry: storageManager.registry })
        registerModuleMapCollections(storageManager.registry, { replica })
      },
    })
    try {
      const device = await log.createDeviceId({ userId: USER })
      const prices = [30, 10, 20]
      await log.writeEntries(
        [
          { createdOn: 1, data: data({ operation: 'create', collection: 'product', pk: 'p1', value: { name: 'tea', price: prices[0] } }) },
          { createdOn: 2, data: data({ operation: 'modify', collection: 'product', pk: 'p1', value: { price: prices[1] } }) },
          { createdOn: 3, data: data({ operation: 'modify', collection: 'product', pk: 'p1', value: { price: prices[2] } }) },
        ],
        { userId: USER, deviceId: device },
      )
      await replica.catchUp(USER)
      expect(await replica.getObject({ userId: USER, collection: 'product', pk: 'p1' })).toEqual({ name: 'tea', price: 10 })
      expect((await replica.getSnapshotPage({ userId: USER })).objects[0]!.entries).toHaveLength(3)
    } finally {
      await storage.cleanup()
    }
    expect(() => new SyncReplica({ storageManager: {} as any, sharedSyncLog: log, reconciler: lowestPriceWins })).toThrow(/needs its storageRegistry/)
  })
})

describe('SyncReplica over a log that was reset', () => {
  it('registers a new device when the log no longer knows its own, and reads the log again without doubling anything', async () => {
    const first = new MemorySharedSyncLog()
    let storageManager!: any
    let replica!: SyncReplica
    const storage = await createSqliteStorage({
      setup: (manager) => {
        storageManager = manager
        replica = new SyncReplica({ storageManager: manager, sharedSyncLog: first })
        registerModuleMapCollections(manager.registry, { replica })
      },
    })
    try {
      const entry = { createdOn: 1, data: data({ operation: 'create', collection: 'note', pk: 'n1', value: { title: 'kept' } }) }
      await first.writeEntries([entry], { userId: USER, deviceId: await first.createDeviceId({ userId: USER }) })
      await replica.catchUp(USER)
      // A new, empty log in the same place: the replica's device is unknown there.
      const reset = new MemorySharedSyncLog({ autoPkType: 'string' })
      const again = new SyncReplica({ storageManager, sharedSyncLog: reset })
      await reset.writeEntries([entry], { userId: USER, deviceId: await reset.createDeviceId({ userId: USER }) })
      expect(await again.catchUp(USER)).toMatchObject({ entries: 1 })
      expect(await again.getStats(USER)).toMatchObject({ objects: 1, liveObjects: 1, entries: 2 })
      expect(await again.getObject({ userId: USER, collection: 'note', pk: 'n1' })).toEqual({ title: 'kept' })
    } finally {
      await storage.cleanup()
    }
  })
})
