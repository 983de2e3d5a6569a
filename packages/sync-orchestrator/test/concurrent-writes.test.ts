import { afterEach, describe, expect, it } from 'vitest'
import { clientBackends } from '@storex-sync/test-backends'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
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
