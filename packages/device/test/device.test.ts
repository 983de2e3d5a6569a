import { afterEach, describe, expect, it } from 'vitest'
import { IDBKeyRange, indexedDB } from 'fake-indexeddb'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { openSqliteBackend } from '@storex-sync/storex-backend-sql'
import { hlcWallTime, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { StorageManager } from '@storex-sync/test-backends'
import { createSyncedDevice } from '../src'

const collections = {
  note: { version: new Date('2024-01-01'), fields: { title: { type: 'string' }, body: { type: 'text', optional: true } } },
  draft: { version: new Date('2024-01-01'), fields: { text: { type: 'text' } } },
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

let databases = 0
async function newStorageManager(kind: 'indexeddb' | 'sqlite') {
  if (kind === 'sqlite') {
    const backend = await openSqliteBackend({ filename: ':memory:', autoPkType: 'string' })
    cleanups.push(() => backend.close())
    return new StorageManager({ backend: backend as any })
  }
  const backend = new DexieStorageBackend({ dbName: `device-test-${process.pid}-${++databases}`, idbImplementation: { factory: indexedDB, range: IDBKeyRange as any } })
  cleanups.push(() => backend.cleanup())
  return new StorageManager({ backend: backend as any })
}

describe.each(['indexeddb', 'sqlite'] as const)('createSyncedDevice on %s', (kind) => {
  it('sets up a device in one call: ids, logging of the synced collections only, sync, continuous sync and the doctor', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const make = async () =>
      createSyncedDevice({ storageManager: await newStorageManager(kind), collections, syncedCollections: ['note'], sharedSyncLog, userId: 'alice' })
    const phone = await make()
    const laptop = await make()

    const { object } = await phone.storageManager.collection('note').createObject({ title: 'from the phone' })
    expect(typeof object.id).toBe('string')
    await phone.storageManager.collection('draft').createObject({ id: 'local-1', text: 'stays here' })
    expect((await phone.diagnose()).findings.map((finding) => finding.code)).toEqual(expect.arrayContaining(['UNSENT_ENTRIES', 'NOT_REGISTERED']))

    await phone.sync()
    await laptop.continuousSync.syncNow()
    await laptop.continuousSync.stop()
    expect(await laptop.storageManager.collection('note').findObjects({})).toEqual([expect.objectContaining({ id: object.id, title: 'from the phone' })])
    expect(await laptop.storageManager.collection('draft').findObjects({})).toEqual([])
    expect((await phone.diagnose()).inSync).toBe(true)
  })

  it('reads its synced objects in a form devices that converged share (sorted by pk, absent and null fields left out)', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const make = async () =>
      createSyncedDevice({ storageManager: await newStorageManager(kind), collections, syncedCollections: ['note'], sharedSyncLog, userId: 'alice' })
    const phone = await make()
    const laptop = await make()
    for (const title of ['b', 'a', 'c']) await phone.storageManager.collection('note').createObject({ title, body: title === 'a' ? 'text' : null })
    await laptop.storageManager.collection('draft').createObject({ id: 'local-1', text: 'not synced, not read' })
    expect(await laptop.readSyncedObjects()).toEqual({ note: [] })
    await phone.sync()
    await laptop.sync()
    const read = await phone.readSyncedObjects()
    expect(Object.keys(read)).toEqual(['note'])
    const notes = read['note']!
    expect(notes.map((note) => note['title']).sort()).toEqual(['a', 'b', 'c'])
    expect(notes.map((note) => String(note['id']))).toEqual(notes.map((note) => String(note['id'])).sort())
    expect(notes.find((note) => note['title'] === 'b')).toEqual({ id: expect.any(String), title: 'b' })
    expect(notes.find((note) => note['title'] === 'a')).toEqual({ body: 'text', id: expect.any(String), title: 'a' })
    expect(await laptop.readSyncedObjects()).toEqual(read)
    await laptop.storageManager.collection('note').updateObjects({ id: notes[0]!['id'] }, { title: 'changed on the laptop' })
    expect(await laptop.readSyncedObjects()).not.toEqual(read)
  })

  it('keeps every part swappable: the reconciler, the id generator, own pks, a device id managed by the app', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const seen: string[] = []
    const recording: ReconcilerFunction = (entries, options) => {
      seen.push(...entries.map((entry) => entry.operation))
      return reconcileSyncLog(entries, options)
    }
    let counter = 0
    const deviceId = await sharedSyncLog.createDeviceId({ userId: 'bob' })
    const first = await createSyncedDevice({
      storageManager: await newStorageManager(kind),
      collections,
      sharedSyncLog,
      userId: 'bob',
      deviceId,
      pkGenerator: () => `note-${++counter}`,
      ownPkCollections: ['draft'],
    })
    const second = await createSyncedDevice({ storageManager: await newStorageManager(kind), collections, sharedSyncLog, userId: 'bob', reconciler: recording })
    const { object } = await first.storageManager.collection('note').createObject({ title: 't' })
    expect(object.id).toBe('note-1')
    await first.storageManager.collection('draft').createObject({ id: 'my-own-key', text: 'synced too' })
    expect((await first.clientSyncLog.getEntries()).map((entry) => entry.deviceId)).toEqual([deviceId, deviceId])
    await first.sync()
    await second.sync()
    expect(seen).toEqual(['create', 'create'])
    expect(await second.storageManager.collection('draft').findObjects({})).toEqual([expect.objectContaining({ id: 'my-own-key' })])
  })

  it('runs on the clock it is given (log entries, syncs, the doctor) and names the log after databaseName', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const clock = { now: Date.UTC(2024, 4, 4, 9, 0) }
    const device = await createSyncedDevice({
      storageManager: await newStorageManager(kind),
      collections,
      syncedCollections: ['note'],
      sharedSyncLog,
      userId: 'carol',
      getNow: () => clock.now,
      databaseName: 'carol-notes',
    })
    expect(device.clientSyncLog.databaseName).toBe('carol-notes')
    await device.storageManager.collection('note').createObject({ title: 'at nine' })
    clock.now += 60_000
    await device.sync()
    const [entry] = await device.clientSyncLog.getEntries()
    expect(hlcWallTime(entry!.createdOn)).toBe(Date.UTC(2024, 4, 4, 9, 0))
    expect(entry!.sharedOn).toBe(Date.UTC(2024, 4, 4, 9, 1))
    // The doctor reads this clock too, and sees it is far behind the shared log's (the real time).
    expect((await device.diagnose()).findings.map((finding) => finding.code)).toEqual(['CLOCK_OFF'])
  })

  it('says what is missing', async () => {
    await expect(createSyncedDevice({} as any)).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(/^@storex-sync\/device: createSyncedDevice\(\) needs storageManager, collections, sharedSyncLog, userId/) })
    await expect(
      createSyncedDevice({ storageManager: await newStorageManager(kind), collections, syncedCollections: ['nope'], sharedSyncLog: new MemorySharedSyncLog(), userId: 'u' }),
    ).rejects.toThrow(/syncedCollections names 'nope'/)
  })
})
