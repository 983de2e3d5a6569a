import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import type { BackendKind } from '@storex-sync/test-backends'
import { SyncOrchestratorError, type SyncEventMap, type SyncSerializer } from '@storex-sync/sync-orchestrator'
import { backendPairs, createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'
const opened: TestDevice[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((device) => device.storage.cleanup()))
})

async function setup(kinds: Array<BackendKind>, sharedSyncLog: SharedSyncLog = new MemorySharedSyncLog()) {
  const devices: TestDevice[] = []
  for (const [index, kind] of kinds.entries()) {
    const device = await createTestDevice({ name: `d${index}`, kind, sharedSyncLog, userId: USER, startTime: 1_000 })
    opened.push(device)
    devices.push(device)
  }
  return { devices, sharedSyncLog }
}

async function syncAll(devices: TestDevice[]) {
  for (const device of devices) await device.sync()
  for (const device of devices) await device.sync()
}

describe.each(backendPairs)('doSync between two devices ($label)', ({ first, second }) => {
  it('brings a created object to the other device', async () => {
    const { devices: [a, b] } = await setup([first, second])
    const { object } = await a!.storageManager.collection('note').createObject({ title: 'first note', pinned: false, rank: 0 })
    await a!.sync()
    await b!.sync()
    expect(await b!.storageManager.collection('note').findObjects({})).toEqual([
      expect.objectContaining({ id: object.id, title: 'first note', pinned: false, rank: 0 }),
    ])
    expect(await b!.contents()).toEqual(await a!.contents())
  })

  it('brings updates and deletes, by pk and by query', async () => {
    const { devices: [a, b] } = await setup([first, second])
    const notes = a!.storageManager.collection('note')
    const { object: one } = await notes.createObject({ title: 'one', pinned: false })
    const { object: two } = await notes.createObject({ title: 'two', pinned: false })
    const { object: three } = await notes.createObject({ title: 'three', pinned: true })
    await syncAll([a!, b!])
    a!.clock.now += 10
    await notes.updateObjects({ id: one.id }, { title: 'one, edited' })
    await notes.updateObjects({ pinned: false }, { rank: 5 })
    await notes.deleteObjects({ id: three.id })
    await syncAll([a!, b!])
    const onB = await b!.contents()
    expect(onB['note']).toEqual([
      expect.objectContaining({ id: one.id, title: 'one, edited', rank: 5 }),
      expect.objectContaining({ id: two.id, title: 'two', rank: 5 }),
    ])
    await b!.storageManager.collection('note').deleteObjects({ rank: 5 })
    await syncAll([a!, b!])
    expect((await a!.contents())['note']).toEqual([])
    expect(await b!.contents()).toEqual(await a!.contents())
  })
})

describe('doSync conflicts', () => {
  it('keeps the last writer per field and both sides agree', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    const { object } = await a!.storageManager.collection('note').createObject({ title: 'draft', body: 'x', rank: 1 })
    await syncAll([a!, b!])
    a!.clock.now = 2_000
    b!.clock.now = 3_000
    await a!.storageManager.collection('note').updateObjects({ id: object.id }, { title: 'title from a', rank: 2 })
    await b!.storageManager.collection('note').updateObjects({ id: object.id }, { title: 'title from b' })
    await syncAll([a!, b!])
    const expected = expect.objectContaining({ id: object.id, title: 'title from b', rank: 2, body: 'x' })
    expect((await a!.contents())['note']).toEqual([expected])
    expect(await b!.contents()).toEqual(await a!.contents())
  })

  it('lets a delete win over a concurrent earlier edit', async () => {
    const { devices: [a, b] } = await setup(['sqlite', 'indexeddb'])
    const { object } = await a!.storageManager.collection('note').createObject({ title: 'doomed' })
    await syncAll([a!, b!])
    a!.clock.now = 2_000
    b!.clock.now = 2_500
    await a!.storageManager.collection('note').updateObjects({ id: object.id }, { title: 'edited meanwhile' })
    await b!.storageManager.collection('note').deleteObjects({ id: object.id })
    await syncAll([a!, b!])
    expect((await a!.contents())['note']).toEqual([])
    expect((await b!.contents())['note']).toEqual([])
  })

  it('orders a change made after seeing another one after it, even when the wall clock is hours behind', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    a!.clock.now = 10 * 3_600_000
    b!.clock.now = 1_000 // b's clock is ten hours behind
    const { object } = await a!.storageManager.collection('note').createObject({ title: 'from a' })
    await syncAll([a!, b!])
    await b!.storageManager.collection('note').updateObjects({ id: object.id }, { title: 'b edited after seeing a' })
    await syncAll([a!, b!])
    expect((await a!.contents())['note']).toEqual([expect.objectContaining({ title: 'b edited after seeing a' })])
    expect(await b!.contents()).toEqual(await a!.contents())
  })

  it('converges three devices editing the same objects offline', async () => {
    const { devices } = await setup(['indexeddb', 'sqlite', 'indexeddb'])
    const [a, b, c] = devices
    const { object: shared } = await a!.storageManager.collection('note').createObject({ title: 'shared', rank: 0 })
    await syncAll(devices)
    for (const [index, device] of devices.entries()) {
      device.clock.now = 5_000 + index
      await device.storageManager.collection('note').updateObjects({ id: shared.id }, { rank: index + 1, title: `by ${device.name}` })
      await device.storageManager.collection('note').createObject({ title: `own of ${device.name}` })
      await device.storageManager.collection('user').createObject({ displayName: device.name })
    }
    await syncAll(devices)
    const contents = await a!.contents()
    expect(contents['note']).toHaveLength(4)
    expect(contents['user']).toHaveLength(3)
    expect(contents['note']).toContainEqual(expect.objectContaining({ id: shared.id, rank: 3, title: 'by d2' }))
    expect(await b!.contents()).toEqual(contents)
    expect(await c!.contents()).toEqual(contents)
  })
})

describe('doSync options', () => {
  it('syncs nothing without failing when there is nothing to sync', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    const result = await a!.sync()
    expect(result.received.entries).toBe(0)
    expect(result.sent.entries).toBe(0)
    expect(result.integrated.objects).toBe(0)
    await b!.sync()
    expect(await b!.contents()).toEqual({ user: [], note: [] })
  })

  it('revives datetimes and keeps every field type', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    const when = new Date('2024-05-06T07:08:09.010Z')
    await a!.storageManager.collection('note').createObject({
      title: '', body: 'ünïcødé ✓', pinned: false, rank: 0, createdWhen: when, tags: { nested: [1, null, false, 'x'] },
    })
    await syncAll([a!, b!])
    const notes = (await b!.storageManager.collection('note').findObjects({})) as Array<Record<string, any>>
    expect(notes).toHaveLength(1)
    const note = notes[0]!
    expect(note.createdWhen).toBeInstanceOf(Date)
    expect(note.createdWhen.getTime()).toBe(when.getTime())
    expect(note).toMatchObject({ title: '', body: 'ünïcødé ✓', pinned: false, rank: 0, tags: { nested: [1, null, false, 'x'] } })
  })

  it('uses a custom serializer in both directions', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'], sharedSyncLog)
    const serializer: SyncSerializer = {
      serializeSharedSyncLogEntryData: (data) => `b64:${Buffer.from(JSON.stringify(data)).toString('base64')}`,
      deserializeSharedSyncLogEntryData: (serialized) => JSON.parse(Buffer.from(serialized.slice(4), 'base64').toString()),
    }
    await a!.storageManager.collection('note').createObject({ title: 'secret' })
    await a!.sync({ serializer })
    const peek = await sharedSyncLog.getUnsyncedEntries({ userId: USER, deviceId: b!.deviceId })
    expect(peek.entries[0]!.data.startsWith('b64:')).toBe(true)
    expect(peek.entries[0]!.data).not.toContain('secret')
    await b!.sync({ serializer })
    expect((await b!.contents())['note']).toEqual([expect.objectContaining({ title: 'secret' })])
  })

  it('lets preSend hold back and change entries', async () => {
    const { devices: [a, b] } = await setup(['sqlite', 'indexeddb'])
    await a!.storageManager.collection('user').createObject({ displayName: 'private' })
    await a!.storageManager.collection('note').createObject({ title: 'public' })
    const result = await a!.sync({
      preSend: ({ entry }) => {
        if (entry.collection === 'user') return { entry: null }
        return { entry: entry.operation === 'create' ? { ...entry, value: { ...entry.value, title: 'changed' } } : entry }
      },
    })
    expect(result.sent).toMatchObject({ entries: 1, filtered: 1 })
    expect(await a!.clientSyncLog.getUnsharedEntries()).toEqual([])
    await b!.sync()
    expect(await b!.contents()).toEqual({ user: [], note: [expect.objectContaining({ title: 'changed' })] })
  })

  it('lets postReceive drop and change entries, and hands over extraSentInfo', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    await a!.storageManager.collection('user').createObject({ displayName: 'ignored' })
    await a!.storageManager.collection('note').createObject({ title: 'kept' })
    await a!.sync({ extraSentInfo: { appVersion: '1.2.3' } })
    const seenInfo: unknown[] = []
    const result = await b!.sync({
      postReceive: ({ entry }) => {
        seenInfo.push(entry.extraSentInfo)
        if (entry.data.collection === 'user') return { entry: null }
        return { entry: { ...entry, data: { ...entry.data, value: { ...entry.data.value, title: 'kept and changed' } } } }
      },
    })
    expect(seenInfo).toEqual([{ appVersion: '1.2.3' }, { appVersion: '1.2.3' }])
    expect(result.received).toMatchObject({ entries: 2, filtered: 1, stored: 1 })
    expect(await b!.contents()).toEqual({ user: [], note: [expect.objectContaining({ title: 'kept and changed' })] })
  })

  it('pages through both directions with batchSize and integrates in batches', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    for (let index = 0; index < 10; index += 1) {
      await a!.storageManager.collection('note').createObject({ title: `note ${index}`, rank: index })
    }
    const sent = await a!.sync({ batchSize: 4 })
    expect(sent.sent).toEqual({ entries: 10, filtered: 0, batches: 3, quarantined: 0 })
    const received = await b!.sync({ batchSize: 4, integrationBatchSize: 3 })
    expect(received.received).toMatchObject({ entries: 10, stored: 10, pages: 3 })
    expect(received.integrated).toMatchObject({ objects: 10, entries: 10, batches: 4 })
    expect(await b!.contents()).toEqual(await a!.contents())
  })

  it('records when a device last synced in its device info', async () => {
    const { devices: [a, b], sharedSyncLog } = await setup(['indexeddb', 'sqlite'])
    await a!.storageManager.collection('note').createObject({ title: 'x' })
    await a!.sync()
    b!.clock.now = 7_777
    await b!.sync()
    expect(await sharedSyncLog.getDeviceInfo({ userId: USER, deviceId: b!.deviceId })).toEqual({ sharedUntil: 7_777 })
  })

  it('emits an event for each stage with counts', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    await a!.storageManager.collection('note').createObject({ title: 'x' })
    await a!.sync()
    const events = new EventEmitter()
    const seen: Array<[string, unknown]> = []
    for (const name of ['syncStarted', 'stageStarted', 'receivedEntries', 'sentEntries', 'integratedEntries', 'stageFinished', 'syncFinished'] as Array<keyof SyncEventMap>) {
      events.on(name, (payload) => seen.push([name, payload]))
    }
    const result = await b!.sync({ events })
    expect(seen.map(([name]) => name)).toEqual([
      'syncStarted',
      'stageStarted', 'receivedEntries', 'stageFinished',
      'stageStarted', 'stageFinished',
      'stageStarted', 'integratedEntries', 'stageFinished',
      'syncFinished',
    ])
    expect(seen).toContainEqual(['receivedEntries', { entries: 1, stored: 1, duplicates: 0, filtered: 0, quarantined: 0 }])
    expect(seen).toContainEqual(['integratedEntries', { objects: 1, entries: 1, operations: 1 }])
    expect(seen.at(-1)).toEqual(['syncFinished', { result }])
  })

  it('does not sync device-local collections', async () => {
    const { devices: [a, b] } = await setup(['indexeddb', 'sqlite'])
    await a!.storageManager.collection('localSetting').createObject({ id: 'theme', key: 'theme', value: 'dark' })
    const result = await a!.sync()
    expect(result.sent.entries).toBe(0)
    await b!.sync()
    expect(await b!.storageManager.collection('localSetting').findObjects({})).toEqual([])
  })
})

describe('doSync misuse', () => {
  it('says what to do without a device id, user id, or a proper shared log', async () => {
    const { devices: [a] } = await setup(['indexeddb'])
    const base = {
      storageManager: a!.storageManager,
      clientSyncLog: a!.clientSyncLog,
      sharedSyncLog: new MemorySharedSyncLog(),
      reconciler: () => [],
      userId: USER,
      deviceId: a!.deviceId,
    }
    const { doSync } = await import('@storex-sync/sync-orchestrator')
    await expect(doSync({ ...base, deviceId: '' })).rejects.toMatchObject({
      code: 'DEVICE_ID_MISSING',
      message: expect.stringContaining('createDeviceId'),
    })
    await expect(doSync({ ...base, userId: '' })).rejects.toBeInstanceOf(SyncOrchestratorError)
    await expect(doSync({ ...base, sharedSyncLog: { writeEntries: async () => {} } as any })).rejects.toMatchObject({
      code: 'INVALID_SHARED_SYNC_LOG',
      message: expect.stringContaining('getUnsyncedEntries'),
    })
    await expect(doSync({ ...base, reconciler: undefined as any })).rejects.toMatchObject({ code: 'RECONCILER_MISSING' })
    await expect(doSync({ ...base, batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })
})
