import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { clientBackends, type BackendKind } from '@storex-sync/test-backends'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { SyncOrchestratorError, retryQuarantinedEntries, type SyncEventMap } from '@storex-sync/sync-orchestrator'
import { createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'
const opened: TestDevice[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((device) => device.storage.cleanup()))
})

async function device(name: string, kind: BackendKind, sharedSyncLog: MemorySharedSyncLog) {
  const created = await createTestDevice({ name, kind, sharedSyncLog, userId: USER, startTime: 1_000 })
  opened.push(created)
  return created
}

function recordEvents() {
  const events = new EventEmitter()
  const seen: Array<[string, any]> = []
  for (const name of ['entriesQuarantined', 'objectIntegrationFailed', 'integratedEntries'] as Array<keyof SyncEventMap>) {
    events.on(name, (payload) => seen.push([name, payload]))
  }
  return { events, seen }
}

describe.each(clientBackends)('bad received entries on $kind', ({ kind }) => {
  it('are quarantined with their reason, reported, and do not stop the rest of the sync', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device('a', kind, sharedSyncLog)
    const rogue = await sharedSyncLog.createDeviceId({ userId: USER })
    const good = (createdOn: number, id: string) =>
      ({ createdOn, data: JSON.stringify({ operation: 'create', collection: 'note', pk: id, value: { title: id } }) })
    await sharedSyncLog.writeEntries(
      [
        good(1_000_001, 'before'),
        { createdOn: 1_000_002, data: '{{ not json' },
        { createdOn: 1_000_003, data: JSON.stringify({ operation: 'create', collection: 'future', pk: 'f1', value: {} }) },
        { createdOn: 1_000_004, data: JSON.stringify({ operation: 'upsert', collection: 'note', pk: 'n9', value: { title: 'up' } }) },
        { createdOn: 1_000_005, data: JSON.stringify({ operation: 'create', collection: 'note', pk: { id: 'n1' }, value: { title: 'x' } }) },
        { createdOn: 1_000_006, data: JSON.stringify({ operation: 'modify', collection: 'note', pk: 'before' }) },
        { createdOn: 1_000_007, data: '"just a string"' },
        good(1_000_008, 'after'),
      ],
      { userId: USER, deviceId: rogue },
    )
    const { events, seen } = recordEvents()
    const result = await a.sync({ batchSize: 3, events })

    expect(result.received).toMatchObject({ entries: 8, stored: 2, quarantined: 6 })
    expect(result.quarantined.map((entry) => [entry.createdOn, entry.reason])).toEqual([
      [1_000_002, 'UNDECODABLE_ENTRY'],
      [1_000_003, 'UNKNOWN_COLLECTION'],
      [1_000_004, 'UNKNOWN_OPERATION'],
      [1_000_005, 'INVALID_PK'],
      [1_000_006, 'INVALID_ENTRY'],
      [1_000_007, 'UNDECODABLE_ENTRY'],
    ])
    expect(seen.filter(([name]) => name === 'entriesQuarantined').flatMap(([, payload]) => payload.entries)).toEqual(result.quarantined)
    // The good entries on both sides of the bad ones are applied.
    expect((await a.contents())['note']!.map((note) => note['id'])).toEqual(['after', 'before'])
    // Stored aside, listable, with the raw data to decode again later.
    const listed = await a.clientSyncLog.getQuarantinedEntries()
    expect(listed.map((entry) => entry.reason)).toEqual(result.quarantined.map((entry) => entry.reason))
    expect(listed[0]!.raw).toMatchObject({ deviceId: rogue, createdOn: 1_000_002, data: '{{ not json' })
    // The cursor moved past them: the next sync receives nothing.
    expect((await a.sync()).received.entries).toBe(0)
    expect(await a.clientSyncLog.countQuarantinedEntries()).toBe(6)

    // A retry with a postReceive that understands 'upsert' releases that entry; the others stay.
    const retried = await retryQuarantinedEntries({
      clientSyncLog: a.clientSyncLog,
      storageManager: a.storageManager,
      postReceive: ({ entry }) =>
        ({ entry: (entry.data.operation as string) === 'upsert' ? { ...entry, data: { ...entry.data, operation: 'create' } } : entry }),
      now: 2_000,
    })
    expect(retried).toEqual({ released: 1, filtered: 0, stillQuarantined: 5 })
    const after = await a.sync()
    expect(after.integrated.entries).toBe(1)
    expect((await a.contents())['note']!.map((note) => note['id'])).toEqual(['after', 'before', 'n9'])
    expect(await a.clientSyncLog.clearQuarantinedEntries()).toEqual({ deleted: 5 })
  })

  it('a duplicate delivery of a bad entry is quarantined once', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device('a', kind, sharedSyncLog)
    const rogue = await sharedSyncLog.createDeviceId({ userId: USER })
    await sharedSyncLog.writeEntries([{ createdOn: 5, data: 'nope' }], { userId: USER, deviceId: rogue })
    const realGet = sharedSyncLog.getUnsyncedEntries.bind(sharedSyncLog)
    sharedSyncLog.getUnsyncedEntries = async (options) => {
      const update = await realGet(options)
      return { ...update, entries: [...update.entries, ...update.entries] }
    }
    const result = await a.sync()
    expect(result.received.quarantined).toBe(2)
    expect(await a.clientSyncLog.countQuarantinedEntries()).toBe(1)
  })
})

describe.each(clientBackends)('a reconciler that throws for one object on $kind', ({ kind }) => {
  it.each([1, 10])('does not stop the others (integrationBatchSize %i); the object stays pending and is retried', async (integrationBatchSize) => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device('a', kind, sharedSyncLog)
    const b = await device('b', kind === 'sqlite' ? 'indexeddb' : 'sqlite', sharedSyncLog)
    const notes = a.storageManager.collection('note')
    await notes.createObject({ id: 'n1', title: 'one' })
    await notes.createObject({ id: 'poison', title: 'two' })
    await notes.createObject({ id: 'n3', title: 'three' })
    await a.sync()

    const picky: ReconcilerFunction = (entries, options) => {
      if (entries.some((entry) => entry.pk === 'poison')) throw new Error('cannot reconcile poison')
      return reconcileSyncLog(entries, options)
    }
    const { events, seen } = recordEvents()
    const result = await b.sync({ reconciler: picky, integrationBatchSize, events })
    expect(result.integrated).toMatchObject({ objects: 2, entries: 2, failed: 1 })
    expect(result.integrationFailures).toEqual([
      expect.objectContaining({ collection: 'note', pk: 'poison', message: expect.stringContaining('cannot reconcile poison') }),
    ])
    const failure = result.integrationFailures[0]!
    expect(failure.error).toBeInstanceOf(SyncOrchestratorError)
    expect((failure.error as SyncOrchestratorError).code).toBe('RECONCILIATION_FAILED')
    expect(seen.filter(([name]) => name === 'objectIntegrationFailed')).toEqual([['objectIntegrationFailed', failure]])
    expect((await b.contents())['note']!.map((note) => note['id'])).toEqual(['n1', 'n3'])
    expect(await b.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 1 })

    // Still failing on the next sync: reported again, nothing else disturbed.
    expect((await b.sync({ reconciler: picky })).integrationFailures.map((item) => item.pk)).toEqual(['poison'])
    // Once the reconciler is fixed, the object is integrated.
    const fixed = await b.sync()
    expect(fixed.integrated).toMatchObject({ objects: 1, failed: 0 })
    expect(await b.contents()).toEqual(await a.contents())
    expect(await b.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 0 })
  })

  it('throws when every object of a batch fails to be written (the database, not one object, is broken)', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device('a', kind, sharedSyncLog)
    const b = await device('b', kind, sharedSyncLog)
    await a.storageManager.collection('note').createObject({ title: 'one' })
    await a.storageManager.collection('note').createObject({ title: 'two' })
    await a.sync()
    const broken = { registry: b.storageManager.registry, backend: { operation: async () => { throw new Error('disk full') } } }
    await expect(b.sync({ storageManager: broken as any })).rejects.toThrow('disk full')
    expect(await b.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 2 })
    await b.sync()
    expect(await b.contents()).toEqual(await a.contents())
  })
})
