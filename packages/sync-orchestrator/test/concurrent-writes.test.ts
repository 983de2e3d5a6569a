import { afterEach, describe, expect, it } from 'vitest'
import { clientBackends } from '@storex-sync/test-backends'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'
const opened: TestDevice[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((device) => device.storage.cleanup()))
})

// Regression (found by the simulation, @storex-sync/simulation seed 6 of its first generator):
// on SQLite through TypeORM an app write that overlapped a sync's batch failed with
// "cannot start a transaction within a transaction" and broke the sync's own transaction.
describe.each(clientBackends)('an app write while a sync runs on $kind', ({ kind }) => {
  it.each(['stageStarted', 'receivedEntries', 'sentEntries', 'integratedEntries'])('succeeds, as does the sync (write at %s)', async (event) => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await createTestDevice({ name: 'a', kind, sharedSyncLog, userId: USER })
    const b = await createTestDevice({ name: 'b', kind, sharedSyncLog, userId: USER })
    opened.push(a, b)
    await a.storageManager.collection('note').createObject({ title: 'from a' })
    await a.storageManager.collection('note').createObject({ title: 'also from a' })
    await a.sync()
    await b.storageManager.collection('note').createObject({ title: 'from b before' })
    const writes: Array<Promise<unknown>> = []
    await b.sync({
      integrationBatchSize: 1,
      events: {
        emit: (name: string) => {
          if (name === event) writes.push(b.storageManager.collection('note').createObject({ title: `during ${name}` }))
        },
      },
    })
    await Promise.all(writes)
    expect(writes.length).toBeGreaterThan(0)
    await b.sync()
    await a.sync()
    expect(await a.contents()).toEqual(await b.contents())
    expect((await a.contents())['note']!.length).toBe(3 + writes.length)
  })
})

// Regression: an app executeBatch on a collection that is not synced bypassed the
// device's lock; on SQLite it failed with TransactionNotStartedError and the sync
// with "cannot start a transaction within a transaction".
describe.each(clientBackends)('an app batch on a collection that is not synced, while a sync integrates on $kind', ({ kind }) => {
  it('succeeds, as does the sync (the batch starts right before each integration batch)', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await createTestDevice({ name: 'a', kind, sharedSyncLog, userId: USER })
    const b = await createTestDevice({ name: 'b', kind, sharedSyncLog, userId: USER })
    opened.push(a, b)
    for (let index = 0; index < 4; index += 1) {
      await a.storageManager.collection('note').createObject({ title: `from a ${index}` })
    }
    await a.sync()
    const writes: Array<Promise<unknown>> = []
    const result = await b.sync({
      integrationBatchSize: 1,
      // The reconciler runs right before doSync writes its batch: start an app batch then, without waiting for it.
      reconciler: (entries, options) => {
        const counter = writes.length + 1
        writes.push(
          b.storageManager.operation('executeBatch', [
            { operation: 'createObject', collection: 'localSetting', args: { id: `s${counter}`, key: `setting-${counter}`, value: { on: true } } },
            { operation: 'updateObjects', collection: 'localSetting', where: { id: `s${counter}` }, updates: { value: { on: false } } },
            { operation: 'createObject', collection: 'localSetting', args: { id: `o${counter}`, key: `other-${counter}`, value: null } },
            { operation: 'deleteObjects', collection: 'localSetting', where: { id: `o${counter}` } },
          ]),
        )
        return reconcileSyncLog(entries, options)
      },
    })
    await Promise.all(writes)
    expect(writes.length).toBe(4)
    expect(result.integrated.entries).toBe(4)
    expect(result.integrationFailures).toEqual([])
    expect(await b.storageManager.collection('localSetting').findObjects({})).toHaveLength(4)
    expect(await a.contents()).toEqual(await b.contents())
  })
})
