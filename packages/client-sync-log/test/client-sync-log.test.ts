import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { clientBackends, createPostgresStorage, findPostgresUrl } from '@storex-sync/test-backends'
import {
  ClientSyncLogError,
  ClientSyncLogStorage,
  HLC_TICKS_PER_MS,
  compareEntries,
  getObjectKey,
  type ClientSyncLogEntry,
  type ReceivedClientSyncLogEntry,
} from '../src'
import { entry, setupLog, type LogSetup } from './setup'

const THREE_OWN: ClientSyncLogEntry[] = [
  entry({ createdOn: 2, pk: 'u1' }),
  entry({ createdOn: 3, pk: 'u2' }),
  entry({ createdOn: 4, pk: 'u3' }),
]

function received(overrides: Partial<ReceivedClientSyncLogEntry> & Pick<ReceivedClientSyncLogEntry, 'createdOn'>) {
  return {
    deviceId: 'device-two',
    operation: 'create',
    collection: 'user',
    pk: 'u1',
    value: { displayName: 'Joe' },
    ...overrides,
  } as ReceivedClientSyncLogEntry
}

// The schema must also work on PostgreSQL (floats for clocks, int flags): run there too when a server answers.
const postgres = await findPostgresUrl()
if ('skipReason' in postgres) {
  console.warn(`client-sync-log: PostgreSQL runs skipped: ${postgres.skipReason}`)
}
const backends = [
  ...clientBackends,
  ...('url' in postgres
    ? [{ kind: 'postgres' as const, create: (options: any) => createPostgresStorage({ ...options, serverUrl: postgres.url }) }]
    : []),
]

describe.each(backends)('ClientSyncLogStorage on $kind', ({ kind, create }) => {
  // TypeORM 0.2.x cannot create 'datetime' columns on PostgreSQL, so there the synced collection has none.
  const datetime = kind !== 'postgres'
  let setup: LogSetup
  let log: ClientSyncLogStorage
  beforeEach(async () => {
    setup = await setupLog(create, { datetime })
    log = setup.clientSyncLog
  })
  afterEach(async () => {
    await setup?.storage.cleanup()
  })

  it('stores entries and returns them sorted, also when inserted out of order', async () => {
    await log.insertEntries([THREE_OWN[0]!, THREE_OWN[2]!])
    await log.insertEntries([THREE_OWN[1]!])
    expect(await log.getEntries()).toEqual(THREE_OWN)
  })

  it('round-trips values of every field type on create and modify', async () => {
    const value = {
      displayName: '',
      age: 0,
      score: 1.5,
      active: false,
      ...(datetime ? { birthday: new Date('2020-02-03T04:05:06.789Z') } : {}),
      meta: { nested: [1, 'two', null, { three: true }], empty: {} },
      note: null,
    }
    const entries = [
      entry({ createdOn: 10, value }),
      entry({ createdOn: 11, operation: 'modify', value: { active: true, age: -3, note: 'x', ...(datetime ? { birthday: new Date(0) } : {}) } }),
      entry({ createdOn: 12, operation: 'delete', pk: 'u1' } as any),
    ]
    await log.insertEntries(entries)
    const stored = await log.getEntries()
    expect(stored).toEqual([entries[0], entries[1], { ...entries[2] }])
    if (datetime) {
      expect((stored[0] as any).value.birthday).toBeInstanceOf(Date)
      expect((stored[1] as any).value.birthday).toBeInstanceOf(Date)
    }
    expect('value' in stored[2]!).toBe(false)
  })

  it('round-trips numeric and string device ids and compound pks', async () => {
    const entries = [
      entry({ createdOn: 5, deviceId: 7, pk: ['a', 1] }),
      entry({ createdOn: 5, deviceId: '7', pk: ['a', 1] }),
      entry({ createdOn: 6, deviceId: 0, pk: 0 }),
    ]
    await log.insertEntries(entries)
    expect(await log.getEntries()).toEqual(entries)
    expect(await log.getEntriesForObject('user', ['a', 1])).toEqual(entries.slice(0, 2))
    expect(await log.getEntriesForObject('user', 0)).toEqual([entries[2]])
    expect(await log.getEntriesForObject('user', '0')).toEqual([])
  })

  it('returns unshared entries ascending, limited by batchSize', async () => {
    await log.insertEntries([THREE_OWN[2]!, THREE_OWN[0]!, entry({ createdOn: 1, sharedOn: 1, pk: 'shared' })])
    await log.insertEntries([THREE_OWN[1]!])
    expect(await log.getUnsharedEntries()).toEqual(THREE_OWN)
    expect(await log.getUnsharedEntries({ batchSize: 2 })).toEqual(THREE_OWN.slice(0, 2))
    expect(await log.getUnsharedEntries({ batchSize: 1 })).toEqual(THREE_OWN.slice(0, 1))
    expect(await log.countPending()).toEqual({ unshared: 3, needsIntegration: 0 })
  })

  it('marks as shared only the entries that were sent', async () => {
    await log.insertEntries(THREE_OWN)
    const batch = await log.getUnsharedEntries({ batchSize: 2 })
    // A new entry written while the batch was being sent must stay unshared (its clock value lies between the others).
    await log.insertEntries([entry({ createdOn: 3, deviceId: 'd0', pk: 'late' })])
    await log.markAsShared(batch, { sharedOn: 100 })
    const all = await log.getEntries()
    expect(all.map((e) => [e.createdOn, e.sharedOn])).toEqual([
      [2, 100],
      [3, null],
      [3, 100],
      [4, null],
    ])
    expect((await log.getUnsharedEntries()).map((e) => [e.createdOn, e.deviceId])).toEqual([[3, 'd0'], [4, 'device-one']])
    expect(await log.countPending()).toEqual({ unshared: 2, needsIntegration: 0 })
  })

  it('distinguishes entries of different devices at the same createdOn when marking shared', async () => {
    await log.insertEntries([entry({ createdOn: 2, deviceId: 1 }), entry({ createdOn: 2, deviceId: '1', pk: 'u2' })])
    await log.markAsShared([{ deviceId: 1, createdOn: 2 }], { sharedOn: 9 })
    expect((await log.getEntries()).map((e) => [e.deviceId, e.sharedOn])).toEqual([
      [1, 9],
      ['1', null],
    ])
  })

  it('inserts received entries as needing integration, shared on now', async () => {
    const result = await log.insertReceivedEntries(
      [received({ createdOn: 2 }), received({ createdOn: 3, operation: 'delete', value: undefined })],
      { now: 56 },
    )
    expect(result).toEqual({ inserted: 2, duplicates: 0 })
    expect(await log.getEntries()).toEqual([
      {
        deviceId: 'device-two',
        createdOn: 2,
        sharedOn: 56,
        needsIntegration: true,
        collection: 'user',
        pk: 'u1',
        operation: 'create',
        value: { displayName: 'Joe' },
      },
      { deviceId: 'device-two', createdOn: 3, sharedOn: 56, needsIntegration: true, collection: 'user', pk: 'u1', operation: 'delete' },
    ])
    expect(await log.getUnsharedEntries()).toEqual([])
    expect(await log.countPending()).toEqual({ unshared: 0, needsIntegration: 2 })
  })

  it('skips received entries already in the log, also within one call', async () => {
    expect(await log.insertReceivedEntries([received({ createdOn: 2 })], { now: 10 })).toEqual({ inserted: 1, duplicates: 0 })
    const again = await log.insertReceivedEntries(
      [received({ createdOn: 2, value: { displayName: 'Changed' } }), received({ createdOn: 3 }), received({ createdOn: 3 })],
      { now: 20 },
    )
    expect(again).toEqual({ inserted: 1, duplicates: 2 })
    const all = await log.getEntries()
    expect(all.map((e) => [e.createdOn, e.sharedOn, (e as any).value.displayName])).toEqual([
      [2, 10, 'Joe'],
      [3, 20, 'Joe'],
    ])
  })

  it('makes the clock observe every received createdOn', async () => {
    const far = 5_000_000 * HLC_TICKS_PER_MS + 17
    await log.insertReceivedEntries([received({ createdOn: far })], { now: 1 })
    await log.insertReceivedEntries([received({ createdOn: far })], { now: 1 })
    expect(log.clock.current).toBe(far)
    const [next] = await log.nextTimestamps(1, 1000)
    expect(next).toBe(far + 1)
  })

  it('rejects an unknown operation with a ClientSyncLogError, writing nothing', async () => {
    const bad = [THREE_OWN[0]!, { ...THREE_OWN[1]!, operation: 'upsert' } as any]
    await expect(log.insertEntries(bad)).rejects.toMatchObject({ code: 'UNKNOWN_OPERATION' })
    await expect(log.insertEntries(bad)).rejects.toBeInstanceOf(ClientSyncLogError)
    await expect(log.insertReceivedEntries([received({ createdOn: 1, operation: 'nope' as any })], { now: 1 })).rejects.toMatchObject({
      code: 'UNKNOWN_OPERATION',
    })
    await expect(log.insertEntries([entry({ createdOn: Number.NaN })])).rejects.toMatchObject({ code: 'CLOCK_OUT_OF_RANGE' })
    await expect(log.insertEntries([entry({ createdOn: 2 ** 53 })])).rejects.toMatchObject({ code: 'CLOCK_OUT_OF_RANGE' })
    expect(await log.getEntries()).toEqual([])
  })

  describe('getNextObjectsToIntegrate', () => {
    it('returns each object with its whole history, oldest pending object first, until all are integrated', async () => {
      const entries = [
        entry({ createdOn: 1, pk: 'u1', sharedOn: 1 }), // own, already integrated
        entry({ createdOn: 2, pk: 'u2', deviceId: 'd2', sharedOn: 10, needsIntegration: true }),
        entry({ createdOn: 3, pk: 'u1', deviceId: 'd2', sharedOn: 10, needsIntegration: true, operation: 'modify', value: { displayName: 'Jack' } }),
        entry({ createdOn: 4, pk: 'u1', deviceId: 'd3', sharedOn: 10, needsIntegration: true, operation: 'delete' } as any),
        entry({ createdOn: 5, pk: 'u3', deviceId: 'd2', sharedOn: 10, needsIntegration: true }),
        entry({ createdOn: 6, pk: 'u9', collection: 'other' }),
      ]
      await log.insertEntries(entries)

      const first = await log.getNextObjectsToIntegrate({ maxObjects: 2 })
      expect(first).toEqual([
        { collection: 'user', pk: 'u2', entries: [entries[1]] },
        { collection: 'user', pk: 'u1', entries: [entries[0], entries[2], entries[3]] },
      ])
      await log.markAsIntegrated(first.flatMap((object) => object.entries))
      expect(await log.countPending()).toEqual({ unshared: 1, needsIntegration: 1 })

      const second = await log.getNextObjectsToIntegrate({ maxObjects: 2 })
      expect(second).toEqual([{ collection: 'user', pk: 'u3', entries: [entries[4]] }])
      await log.markAsIntegrated(second[0]!.entries)
      expect(await log.getNextObjectsToIntegrate()).toEqual([])
      expect((await log.getEntries()).every((e) => !e.needsIntegration)).toBe(true)
    })

    it('without maxObjects returns every pending object', async () => {
      await log.insertReceivedEntries(
        Array.from({ length: 7 }, (_, i) => received({ createdOn: 10 + i, pk: `p${i % 3}` })),
        { now: 1 },
      )
      const objects = await log.getNextObjectsToIntegrate()
      expect(objects.map((o) => [o.pk, o.entries.length])).toEqual([
        ['p0', 3],
        ['p1', 2],
        ['p2', 2],
      ])
    })

    it('sorts each history by createdOn then deviceId', async () => {
      await log.insertReceivedEntries(
        [
          received({ createdOn: 5, deviceId: 'b', operation: 'modify', value: { displayName: 'b' } }),
          received({ createdOn: 5, deviceId: 'a', operation: 'modify', value: { displayName: 'a' } }),
          received({ createdOn: 5, deviceId: 3, operation: 'modify', value: { displayName: '3' } }),
          received({ createdOn: 1, deviceId: 'z' }),
        ],
        { now: 1 },
      )
      const [object] = await log.getNextObjectsToIntegrate({ maxObjects: 1 })
      expect(object!.entries.map((e) => e.deviceId)).toEqual(['z', 3, 'a', 'b'])
    })

    it('gives doSync a batch step that marks the entries integrated inside its own executeBatch', async () => {
      await log.insertReceivedEntries([received({ createdOn: 1 }), received({ createdOn: 2, pk: 'u2' })], { now: 1 })
      const [object] = await log.getNextObjectsToIntegrate({ maxObjects: 1 })
      const batch = log.getMarkAsIntegratedBatch(object!.entries)
      await setup.storage.storageManager.backend.executeBatch(batch)
      expect(await log.countPending()).toEqual({ unshared: 0, needsIntegration: 1 })
      expect((await log.getNextObjectsToIntegrate()).map((o) => o.pk)).toEqual(['u2'])
    })
  })

  describe('the clock', () => {
    it('issues strictly increasing values, never behind the wall clock', async () => {
      const first = await log.nextTimestamps(3, 1000)
      const second = await log.nextTimestamps(2, 999)
      const all = [...first, ...second]
      expect(all[0]).toBe(1000 * HLC_TICKS_PER_MS)
      for (let i = 1; i < all.length; i += 1) {
        expect(all[i]!).toBeGreaterThan(all[i - 1]!)
      }
      const [later] = await log.nextTimestamps(1, 2000)
      expect(later).toBe(2000 * HLC_TICKS_PER_MS)
    })

    it('starts past the greatest stored createdOn after a restart', async () => {
      const stored = 9000 * HLC_TICKS_PER_MS + 5
      await log.insertEntries([entry({ createdOn: 1 }), entry({ createdOn: stored, pk: 'u2' }), entry({ createdOn: 3, pk: 'u3' })])
      const restarted = new ClientSyncLogStorage({ storageManager: setup.storage.storageManager })
      const [next] = await restarted.nextTimestamps(1, 10)
      expect(next).toBe(stored + 1)
      expect(restarted.clock.current).toBe(stored + 1)
    })

    it('initializes once even for concurrent calls', async () => {
      await log.insertEntries([entry({ createdOn: 50 })])
      const [a, b] = await Promise.all([log.nextTimestamps(2, 0), log.nextTimestamps(2, 0)])
      expect([...a!, ...b!].sort((x, y) => x - y)).toEqual([51, 52, 53, 54])
    })
  })

  describe('deleteObsoleteEntries', () => {
    const shared = { sharedOn: 100, needsIntegration: false }

    // The monorepo applies patches/@worldbrain__storex-backend-typeorm@0.2.1.patch, so SQL backends delete too.
    async function cleanUp(_ctx?: unknown) {
      return log.deleteObsoleteEntries()
    }

    it('keeps a delete as tombstone and drops everything of the object before it', async (ctx) => {
      await log.insertEntries([
        entry({ createdOn: 1, pk: 'a', ...shared }),
        entry({ createdOn: 2, pk: 'a', ...shared, operation: 'modify', value: { displayName: 'x' } }),
        entry({ createdOn: 3, pk: 'a', ...shared, operation: 'delete' } as any),
        entry({ createdOn: 4, pk: 'b', ...shared }),
        entry({ createdOn: 5, pk: 'b', ...shared, operation: 'modify', value: { displayName: 'y' } }),
      ])
      expect(await cleanUp(ctx)).toEqual({ deleted: 2 })
      expect((await log.getEntries()).map((e) => [e.pk, e.operation])).toEqual([
        ['a', 'delete'],
        ['b', 'create'],
        ['b', 'modify'],
      ])
    })

    it('keeps a recreate after a delete and drops older deletes', async (ctx) => {
      await log.insertEntries([
        entry({ createdOn: 1, ...shared }),
        entry({ createdOn: 2, ...shared, operation: 'delete' } as any),
        entry({ createdOn: 3, ...shared }),
        entry({ createdOn: 4, ...shared, operation: 'delete' } as any),
        entry({ createdOn: 5, ...shared, value: { displayName: 'again' } }),
      ])
      await cleanUp(ctx)
      expect((await log.getEntries()).map((e) => [e.createdOn, e.operation])).toEqual([
        [4, 'delete'],
        [5, 'create'],
      ])
    })

    it('drops modifies whose every field is overwritten later, keeps partly overwritten ones', async (ctx) => {
      await log.insertEntries([
        entry({ createdOn: 1, ...shared, value: { displayName: 'a', age: 1 } }),
        entry({ createdOn: 2, ...shared, operation: 'modify', value: { displayName: 'b' } }),
        entry({ createdOn: 3, ...shared, operation: 'modify', value: { displayName: 'c', age: 2 } }),
        entry({ createdOn: 4, ...shared, operation: 'modify', value: { displayName: 'd' } }),
        entry({ createdOn: 9, pk: 'other', ...shared }),
      ])
      expect(await cleanUp(ctx)).toEqual({ deleted: 1 })
      expect((await log.getEntries()).map((e) => e.createdOn)).toEqual([1, 3, 4, 9])
    })

    it('never deletes unshared or unintegrated entries, nor objects waiting for integration', async (ctx) => {
      await log.insertEntries([
        entry({ createdOn: 1, pk: 'own' }), // unshared
        entry({ createdOn: 2, pk: 'own', operation: 'delete' } as any),
        entry({ createdOn: 3, pk: 'pending', ...shared }),
        entry({ createdOn: 4, pk: 'pending', sharedOn: 100, needsIntegration: true, operation: 'delete' } as any),
        entry({ createdOn: 5, pk: 'z', ...shared }),
      ])
      expect(await cleanUp(ctx)).toEqual({ deleted: 0 })
      expect(await log.getEntries()).toHaveLength(5)
    })

    it('never deletes the entry with the greatest createdOn', async (ctx) => {
      await log.insertEntries([
        entry({ createdOn: 1, ...shared, operation: 'modify', value: { displayName: 'a' } }),
        entry({ createdOn: 2, ...shared, operation: 'modify', value: { displayName: 'b' } }),
        entry({ createdOn: 3, pk: 'u2', ...shared }),
        entry({ createdOn: 4, pk: 'u2', ...shared, operation: 'delete' } as any),
      ])
      await cleanUp(ctx)
      const left = await log.getEntries()
      expect(left.map((e) => e.createdOn)).toEqual([2, 4])
      const restarted = new ClientSyncLogStorage({ storageManager: setup.storage.storageManager })
      expect(await restarted.nextTimestamps(1, 0)).toEqual([5])
    })
  })
})

describe('compareEntries', () => {
  it('orders by createdOn, then numeric device ids before strings, strings by code units', () => {
    const list = [
      { createdOn: 2, deviceId: 'a' },
      { createdOn: 1, deviceId: 'b' },
      { createdOn: 2, deviceId: 10 },
      { createdOn: 2, deviceId: 9 },
      { createdOn: 2, deviceId: 'B' },
      { createdOn: 2, deviceId: '10' },
    ]
    expect([...list].sort(compareEntries)).toEqual([
      { createdOn: 1, deviceId: 'b' },
      { createdOn: 2, deviceId: 9 },
      { createdOn: 2, deviceId: 10 },
      { createdOn: 2, deviceId: '10' },
      { createdOn: 2, deviceId: 'B' },
      { createdOn: 2, deviceId: 'a' },
    ])
    expect(compareEntries({ createdOn: 3, deviceId: 'x' }, { createdOn: 3, deviceId: 'x' })).toBe(0)
  })
})

describe('entry ids and object keys', () => {
  it('are the stable stringify of their parts, also on the fast path for strings and numbers', async () => {
    const { default: stringify } = await import('safe-stable-stringify')
    const { getEntryId } = await import('../src/internal/entries')
    const strings = ['', 'device-1', 'quote " and \\ backslash', 'line\nbreak\u0000nul', 'é ü 字 😀', 'lone \ud800 surrogate', '\udfff', '\u2028\u2029']
    const numbers = [0, -0, 1, -1, 1.5, 1e21, 1792578040876000, Number.MAX_SAFE_INTEGER, NaN, Infinity]
    for (const part of [...strings, ...numbers]) {
      for (const createdOn of numbers) {
        expect(getEntryId(part, createdOn)).toBe(stringify([part, createdOn]))
      }
      expect(getObjectKey('note', part)).toBe(stringify(['note', part]))
      expect(getObjectKey(String(part), part)).toBe(stringify([String(part), part]))
    }
    expect(getObjectKey('pair', { b: 1, a: 2 })).toBe('["pair",{"a":2,"b":1}]')
    expect(getObjectKey('none', null)).toBe('["none",null]')
  })
})
