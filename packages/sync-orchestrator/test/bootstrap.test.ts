import { afterEach, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { SyncReplica, withReplica } from '@storex-sync/replica'
import { clientBackends, createSqliteStorage, type TestStorage } from '@storex-sync/test-backends'
import type { SyncProgress } from '@storex-sync/sync-orchestrator'
import { createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'
const DAY = 24 * 60 * 60 * 1000
const opened: Array<{ cleanup(): Promise<void> }> = []
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.cleanup()
})

async function cloud(): Promise<{ log: MemorySharedSyncLog; replica: SyncReplica; sharedSyncLog: SharedSyncLog }> {
  const log = new MemorySharedSyncLog()
  let replica!: SyncReplica
  const storage: TestStorage = await createSqliteStorage({
    setup: (storageManager) => {
      replica = new SyncReplica({ storageManager, sharedSyncLog: log })
      registerModuleMapCollections(storageManager.registry, { replica })
    },
  })
  opened.push(storage)
  return { log, replica, sharedSyncLog: withReplica(log, replica, { onCatchUpError: (error) => { throw error } }) }
}

async function device(options: Parameters<typeof createTestDevice>[0]): Promise<TestDevice> {
  const created = await createTestDevice(options)
  opened.push(created.storage)
  return created
}

/** Notes with a history: many edits of two fields, and some deleted. */
async function writeHistory(writer: TestDevice, notes: number, edits: number) {
  const collection = writer.storageManager.collection('note')
  const ids: string[] = []
  for (let index = 0; index < notes; index += 1) {
    const { object } = await collection.createObject({ title: `note ${index}`, body: 'first' })
    ids.push(object.id)
  }
  for (let edit = 0; edit < edits; edit += 1) {
    for (const [index, id] of ids.entries()) {
      await collection.updateObjects({ id }, edit % 2 ? { title: `note ${index} v${edit}` } : { body: `body v${edit}` })
    }
  }
  for (const id of ids.filter((_, index) => index % 5 === 0)) {
    await collection.deleteObjects({ id })
  }
  return ids
}

function rowsPerObject(entries: Array<{ collection: string; pk: unknown }>) {
  const counts = new Map<string, number>()
  for (const entry of entries) counts.set(JSON.stringify([entry.collection, entry.pk]), (counts.get(JSON.stringify([entry.collection, entry.pk])) ?? 0) + 1)
  return counts
}

describe.each(clientBackends)('a new device on $kind', ({ kind }) => {
  it('starts from the replica snapshot with progress totals, equals the writer, and keeps at most fields + 1 log rows per live object', async () => {
    const { sharedSyncLog, replica } = await cloud()
    const writer = await device({ name: 'writer', kind: 'sqlite', sharedSyncLog, userId: USER })
    await writeHistory(writer, 20, 6)
    await writer.sync()

    const newcomer = await device({ name: 'new', kind, sharedSyncLog, userId: USER })
    const progress: SyncProgress[] = []
    const result = await newcomer.sync({ events: { emit: (name: string, payload: any) => name === 'progress' && progress.push(payload) } })
    expect(result.bootstrap).toMatchObject({ mode: 'fresh', objects: 20 })
    expect(result.received.entries).toBe(0)
    expect(await newcomer.contents()).toEqual(await writer.contents())
    expect((await newcomer.contents())['note']).toHaveLength(16)
    const last = progress.filter((item) => item.phase === 'bootstrap').at(-1)!
    expect(last.objects).toEqual({ done: 20, total: 20 })
    expect(last.entries!.done).toBe(last.entries!.total)
    expect(last.bytes!.done).toBe(last.bytes!.total)
    expect(last.bytes!.total).toBeGreaterThan(0)
    // title and body: at most 3 rows per live note, 1 per deleted one.
    for (const count of rowsPerObject(await newcomer.clientSyncLog.getEntries()).values()) expect(count).toBeLessThanOrEqual(3)
    expect((await replica.getStats(USER)).liveObjects).toBe(16)

    // Later edits on both sides still merge by the per-field clocks the snapshot carried.
    const [first] = (await writer.storageManager.collection('note').findObjects({}, { limit: 1 })) as Array<{ id: string }>
    newcomer.clock.now += 10
    await newcomer.storageManager.collection('note').updateObjects({ id: first!.id }, { title: 'from the newcomer' })
    await newcomer.sync()
    await writer.sync()
    expect(await writer.contents()).toEqual(await newcomer.contents())
  })

  it('replays the log instead when told to', async () => {
    const { sharedSyncLog } = await cloud()
    const writer = await device({ name: 'writer', kind: 'sqlite', sharedSyncLog, userId: USER })
    await writeHistory(writer, 5, 2)
    await writer.sync()
    const newcomer = await device({ name: 'new', kind, sharedSyncLog, userId: USER })
    const result = await newcomer.sync({ bootstrap: 'replay' })
    expect(result.bootstrap.mode).toBeNull()
    expect(result.received.entries).toBe(5 + 10 + 1)
    expect(await newcomer.contents()).toEqual(await writer.contents())
  })
})

describe.each(clientBackends)('compaction and a retired device on $kind', ({ kind }) => {
  it('a device silent past the retention is retired, sends its offline writes when it returns, and converges from a snapshot', async () => {
    const { sharedSyncLog, log } = await cloud()
    const active = await device({ name: 'active', kind: 'sqlite', sharedSyncLog, userId: USER })
    const away = await device({ name: 'away', kind, sharedSyncLog, userId: USER })
    const ids = await writeHistory(active, 6, 2)
    await active.sync()
    await away.sync()
    expect(await away.contents()).toEqual(await active.contents())

    // Away goes offline and writes; active deletes one of those notes and edits another.
    const liveIds = ids.filter((_, index) => index % 5 !== 0)
    away.clock.now += 1000
    await away.storageManager.collection('note').createObject({ title: 'written offline' })
    await away.storageManager.collection('note').updateObjects({ id: liveIds[0] }, { body: 'offline edit' })
    await away.storageManager.collection('note').updateObjects({ id: liveIds[1] }, { body: 'offline edit of a note deleted meanwhile' })
    active.clock.now += 2000
    await active.storageManager.collection('note').deleteObjects({ id: liveIds[1] })
    await active.storageManager.collection('note').updateObjects({ id: liveIds[2] }, { title: 'edited while away was away' })
    await active.sync()
    await active.sync()

    const compaction = await sharedSyncLog.compact!({ userId: USER, retentionMs: DAY, now: Date.now() + 2 * DAY })
    expect(compaction.retiredDevices).toEqual([away.deviceId])
    expect(compaction.deletedEntries).toBeGreaterThan(0)
    expect((await log.getDeviceInfo({ userId: USER, deviceId: away.deviceId }))?.snapshotRequired).toBe(true)

    const result = await away.sync()
    expect(result.sent.entries).toBe(3)
    expect(result.bootstrap.mode).toBe('merge')
    await active.sync()
    expect(await away.contents()).toEqual(await active.contents())
    const notes = (await active.contents())['note']!
    expect(notes.map((note) => note['title'])).toContain('written offline')
    expect(notes.find((note) => note['id'] === liveIds[0])?.['body']).toBe('offline edit')
    expect(notes.find((note) => note['id'] === liveIds[1])).toBeUndefined()

    // A device created after the compaction starts from a snapshot too, whatever it was told.
    const late = await device({ name: 'late', kind, sharedSyncLog, userId: USER })
    await late.storageManager.collection('note').createObject({ title: 'late, before its first sync' })
    await late.sync({ bootstrap: 'replay' })
    await active.sync()
    expect(await late.contents()).toEqual(await active.contents())
  })
})

describe('the client log stays small', () => {
  it('keeps at most fields + 1 rows per object however often it is edited', async () => {
    const { sharedSyncLog } = await cloud()
    const writer = await device({ name: 'writer', kind: 'sqlite', sharedSyncLog, userId: USER })
    const reader = await device({ name: 'reader', kind: 'indexeddb', sharedSyncLog, userId: USER })
    const { object } = await writer.storageManager.collection('note').createObject({ title: 't', body: 'b' })
    for (let round = 0; round < 5; round += 1) {
      for (let edit = 0; edit < 10; edit += 1) {
        await writer.storageManager.collection('note').updateObjects({ id: object.id }, edit % 2 ? { title: `t${round}.${edit}` } : { body: `b${round}.${edit}` })
      }
      const result = await writer.sync()
      await reader.sync()
      expect(result.compacted.entries).toBeGreaterThan(0)
    }
    expect((await writer.clientSyncLog.getEntries()).length).toBeLessThanOrEqual(3)
    expect((await reader.clientSyncLog.getEntries()).length).toBeLessThanOrEqual(3)
    expect(await reader.contents()).toEqual(await writer.contents())
  })
})
