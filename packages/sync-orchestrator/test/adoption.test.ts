import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { clientBackends } from '@storex-sync/test-backends'
import { createTestDevice, testCollections, type TestDevice, type TestSchema } from './devices'

const USER = 'user-1'
/** Backends whose database a second instance can open here (another tab, another process on one file, an app update). */
const localBackends = clientBackends.filter((backend) => backend.kind === 'indexeddb' || backend.kind === 'sqlite')
const opened: TestDevice[] = []
const directories: string[] = []
afterEach(async () => {
  for (const device of opened.splice(0).reverse()) {
    await device.storage.cleanup().catch(() => {})
  }
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

async function device(options: Parameters<typeof createTestDevice>[0]) {
  const created = await createTestDevice(options)
  opened.push(created)
  return created
}

const titles = async (device: TestDevice) => ((await device.contents())['note'] ?? []).map((note) => `${note['id']}:${note['title']}`).sort()

/** The same catalogue, written on several devices before any of them enabled sync. */
const catalogue = (ids: string[]) => async (storageManager: TestDevice['storageManager']) => {
  for (const id of ids) await storageManager.collection('note').createObject({ id, title: `${id} as it was` })
}

// Regression: an object that existed without a create entry in the client log
// ignored remote modifies and deletes, a remote recreate failed on SQLite with a
// UNIQUE violation, and the object never reached the other devices.
describe.each(clientBackends)('objects that existed before sync, on $kind', ({ kind }) => {
  async function twoShops() {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device({ name: 'a', kind, sharedSyncLog, userId: USER, before: catalogue(['n1', 'n2']) })
    const b = await device({ name: 'b', kind, sharedSyncLog, userId: USER, before: catalogue(['n1', 'n2']), startTime: 2_000 })
    return { sharedSyncLog, a, b }
  }

  it('take a remote modify, two out of order, and a remote delete', async () => {
    const { a, b } = await twoShops()
    await b.storageManager.collection('note').updateObjects({ id: 'n1' }, { title: 'n1 renamed on b' })
    b.clock.now += 10
    await b.storageManager.collection('note').updateObjects({ id: 'n2' }, { title: 'n2 first' })
    b.clock.now += 10
    await b.storageManager.collection('note').updateObjects({ id: 'n2' }, { title: 'n2 second' })
    await b.sync({ batchSize: 1 })
    await a.sync({ batchSize: 1, integrationBatchSize: 1 })
    expect(await titles(a)).toEqual(['n1:n1 renamed on b', 'n2:n2 second'])
    await b.storageManager.collection('note').deleteObjects({ id: 'n1' })
    await b.sync()
    await a.sync()
    expect(await titles(a)).toEqual(['n2:n2 second'])
    expect(await a.contents()).toEqual(await b.contents())
  })

  it('take delete, modify, delete and a double delete', async () => {
    const { sharedSyncLog, a, b } = await twoShops()
    const c = await device({ name: 'c', kind, sharedSyncLog, userId: USER, before: catalogue(['n1', 'n2']), startTime: 3_000 })
    await b.storageManager.collection('note').deleteObjects({ id: 'n1' })
    await c.storageManager.collection('note').updateObjects({ id: 'n1' }, { title: 'edited on c' })
    c.clock.now += 5_000
    await c.storageManager.collection('note').deleteObjects({ id: 'n1' })
    await c.storageManager.collection('note').deleteObjects({ id: 'n2' })
    await b.storageManager.collection('note').deleteObjects({ id: 'n2' })
    await b.sync()
    await c.sync()
    await a.sync()
    await b.sync()
    expect(await titles(a)).toEqual([])
    expect(await a.contents()).toEqual(await b.contents())
    expect(await c.contents()).toEqual(await b.contents())
  })

  it('take a remote delete followed by a remote create of the same pk (no UNIQUE failure), and merge a remote create', async () => {
    const { a, b } = await twoShops()
    await b.storageManager.collection('note').deleteObjects({ id: 'n1' })
    b.clock.now += 10
    await b.storageManager.collection('note').createObject({ id: 'n1', title: 'n1 again' })
    await b.storageManager.collection('note').createObject({ id: 'n3', title: 'new on b' })
    await b.sync()
    const result = await a.sync()
    expect(result.integrationFailures).toEqual([])
    expect(await titles(a)).toEqual(['n1:n1 again', 'n2:n2 as it was', 'n3:new on b'])
    await a.sync()
    await b.sync()
    expect(await a.contents()).toEqual(await b.contents())
  })

  it('reach devices that never had them, recorded once by the first sync (or the first write)', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device({ name: 'a', kind, sharedSyncLog, userId: USER, before: catalogue(['n1', 'n2', 'n3']) })
    const fresh = await device({ name: 'fresh', kind, sharedSyncLog, userId: USER })
    // The first sync records them (nothing was written since sync was enabled).
    await a.sync()
    await a.logging.recordExistingObjects() // once per collection and database: nothing more
    await a.sync()
    expect((await a.clientSyncLog.getEntries()).filter((entry) => entry.operation === 'create')).toHaveLength(3)
    await fresh.sync()
    expect(await titles(fresh)).toEqual(['n1:n1 as it was', 'n2:n2 as it was', 'n3:n3 as it was'])
    // A collection whose objects were recorded is not scanned again; a later write logs as usual.
    await a.storageManager.collection('note').updateObjects({ id: 'n2' }, { title: 'n2 edited' })
    await a.sync()
    await fresh.sync()
    expect(await titles(fresh)).toEqual(['n1:n1 as it was', 'n2:n2 edited', 'n3:n3 as it was'])
  })
})

/** A shared log that is unreachable until `reachable` is set. */
function sometimesOffline(inner: SharedSyncLog) {
  const state = { reachable: false }
  const guard = <T>(call: () => Promise<T>) => (state.reachable ? call() : Promise.reject(new Error('the server cannot be reached')))
  const log: SharedSyncLog = {
    createDeviceId: (o) => guard(() => inner.createDeviceId(o)),
    getDeviceInfo: (o) => guard(() => inner.getDeviceInfo(o)),
    writeEntries: (e, o) => guard(() => inner.writeEntries(e, o)),
    getUnsyncedEntries: (o) => guard(() => inner.getUnsyncedEntries(o)),
    markAsSeen: (u, o) => guard(() => inner.markAsSeen(u, o)),
  }
  return { log, state }
}

// Regression: a new device could not write before it reached the server once
// (DEVICE_ID_MISSING), and the browser example stayed dead.
describe.each(localBackends)('a new device that starts offline, on $kind', ({ kind }) => {
  it('writes and logs before its first contact, registers at its first sync, and its writes reach the others', async () => {
    const inner = new MemorySharedSyncLog()
    const { log, state } = sometimesOffline(inner)
    const other = await device({ name: 'other', kind, sharedSyncLog: inner, userId: USER })
    const directory = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'storex-sync-offline-')) : undefined
    if (directory) directories.push(directory)
    const database = directory ? join(directory, 'app.sqlite') : undefined
    const phone = await device({ name: 'phone', kind, sharedSyncLog: log, userId: USER, offlineFirst: true, database, databaseName: database })
    const tab = await device({ name: 'tab', kind, sharedSyncLog: log, userId: USER, tabOf: phone, databaseName: database })

    await phone.storageManager.collection('note').createObject({ title: 'written offline' })
    await tab.storageManager.collection('note').createObject({ title: 'offline, in another tab' })
    const provisional = await phone.clientSyncLog.getDeviceIdentity()
    expect(provisional).toMatchObject({ registered: false })
    expect(await tab.clientSyncLog.getDeviceIdentity()).toEqual(provisional)
    await expect(phone.sync()).rejects.toThrow('cannot be reached')
    await phone.storageManager.collection('note').createObject({ title: 'still offline' })

    state.reachable = true
    const result = await phone.sync()
    expect(result.sent.entries).toBe(3)
    const registered = await phone.clientSyncLog.getDeviceIdentity()
    expect(registered).toMatchObject({ registered: true })
    expect(registered!.deviceId).not.toBe(provisional!.deviceId)
    expect(new Set((await phone.clientSyncLog.getEntries()).map((entry) => entry.deviceId))).toEqual(new Set([registered!.deviceId]))
    await tab.storageManager.collection('note').createObject({ title: 'online, in the other tab' })
    await tab.sync()
    await other.sync()
    expect(((await other.contents())['note'] ?? []).map((note) => note['title']).sort()).toEqual([
      'offline, in another tab',
      'online, in the other tab',
      'still offline',
      'written offline',
    ])
    expect((await phone.clientSyncLog.getEntries()).every((entry) => entry.deviceId === registered!.deviceId)).toBe(true)
  })
})

// The update as storex apps write it: the collection's history of versions (the IndexedDB backend
// derives its schema upgrades from it), a new version adding a field, and a new collection.
const newerSchema: TestSchema = {
  collections: {
    ...testCollections,
    note: [
      testCollections.note,
      {
        ...testCollections.note,
        version: new Date('2027-01-01'),
        fields: { ...testCollections.note.fields, color: { type: 'string' as const, optional: true } },
      },
    ],
    label: { version: new Date('2027-01-01'), fields: { name: { type: 'string' as const } } },
  },
  synced: ['user', 'note', 'label'],
}

// Regression: an entry from a newer app version that set a field this version
// does not know was silently dropped on SQLite and marked integrated; after the
// update that added the field, its value was gone for good.
describe.each(localBackends)('entries from a newer app version, on $kind', ({ kind }) => {
  it('are kept aside, not applied, and applied by the first sync after the app update', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const newer = await device({ name: 'newer', kind, sharedSyncLog, userId: USER, schema: newerSchema })
    const directory = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'storex-sync-versions-')) : undefined
    if (directory) directories.push(directory)
    const database = directory ? join(directory, 'app.sqlite') : undefined
    const older = await device({ name: 'older', kind, sharedSyncLog, userId: USER, database, startTime: 2_000 })

    await newer.storageManager.collection('note').createObject({ id: 'n1', title: 'red note', color: 'red' })
    await newer.storageManager.collection('note').createObject({ id: 'n2', title: 'plain note' })
    await newer.storageManager.collection('label').createObject({ id: 'l1', name: 'urgent' })
    await newer.sync()
    const before = await older.sync()
    expect(before.quarantined.map((entry) => entry.reason).sort()).toEqual(['UNKNOWN_COLLECTION', 'UNKNOWN_FIELD'])
    expect(before.quarantined.find((entry) => entry.reason === 'UNKNOWN_FIELD')!.message).toContain("'color'")
    expect(await titles(older)).toEqual(['n2:plain note'])
    expect((await older.clientSyncLog.getEntries()).map((entry) => entry.pk)).toEqual(['n2'])
    // Syncing again keeps them aside: never dropped, never marked integrated.
    await older.sync()
    expect(await older.clientSyncLog.countQuarantinedEntries()).toBe(2)

    // The app update: the same database opened with the newer schema.
    if (kind === 'indexeddb') (older.storageManager.backend as any).dexieInstance.close()
    else await (older.storageManager.backend as any).close()
    const updated = await device({ name: 'older', kind, sharedSyncLog, userId: USER, schema: newerSchema, tabOf: older, database })
    const after = await updated.sync()
    expect(after.integrated.entries).toBe(2)
    expect(await updated.clientSyncLog.countQuarantinedEntries()).toBe(0)
    expect(await updated.contents()).toEqual(await newer.contents())
    expect(((await updated.contents())['note'] ?? []).find((note) => note['id'] === 'n1')).toMatchObject({ color: 'red' })
  })
})
