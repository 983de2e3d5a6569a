import { afterEach, describe, expect, it } from 'vitest'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { discardOutgoingEntries, retryOutgoingEntries, type SyncResult } from '@storex-sync/sync-orchestrator'
import { clientBackends } from '@storex-sync/test-backends'
import { createTestDevice, type TestDevice } from './devices'
import { RefusingSharedSyncLog } from './refusing-log'

const USER = 'user-1'

describe.each(clientBackends.map((backend) => backend.kind))('outgoing quarantine on %s', (kind) => {
  let devices: TestDevice[] = []
  afterEach(async () => {
    await Promise.all(devices.map((device) => device.storage.cleanup()))
    devices = []
  })

  async function setup() {
    const log = new RefusingSharedSyncLog()
    const a = await createTestDevice({ name: 'a', kind, sharedSyncLog: log, userId: USER })
    const b = await createTestDevice({ name: 'b', kind, sharedSyncLog: log, userId: USER })
    devices.push(a, b)
    return { log, a, b }
  }
  const titles = async (device: TestDevice) => (await device.contents()).note!.map((note) => note['title']).sort()
  const discard = (device: TestDevice, ids?: string[]) =>
    discardOutgoingEntries({ storageManager: device.storageManager, clientSyncLog: device.clientSyncLog, reconciler: reconcileSyncLog, ids })

  it('a note too large for the published limit is set aside before sending; the ordinary notes arrive; later edits of it wait behind it', async () => {
    const { log, a, b } = await setup()
    log.maxWriteBytes = 2000
    const notes = a.storageManager.collection('note')
    await notes.createObject({ title: 'big', body: 'x'.repeat(5000) })
    for (const title of ['one', 'two', 'three']) await notes.createObject({ title })
    const events: Array<[string, any]> = []
    const result = await a.sync({ events: { emit: (name, payload) => events.push([name, payload]) } })
    expect(result.sent).toEqual({ entries: 3, filtered: 0, batches: 1, quarantined: 1 })
    expect(result.outgoingQuarantined).toEqual([
      expect.objectContaining({ operation: 'create', collection: 'note', reason: 'TOO_LARGE', message: expect.stringMatching(/more than the 2000 bytes/) }),
    ])
    expect(events.filter(([name]) => name === 'outgoingEntriesQuarantined')).toHaveLength(1)
    expect(events.find(([name]) => name === 'sentEntries')![1]).toEqual({ entries: 3, filtered: 0, quarantined: 1 })
    expect(log.refusedWrites).toBe(0) // never sent a write the log would refuse
    await b.sync()
    expect(await titles(b)).toEqual(['one', 'three', 'two'])

    // An edit of the big note waits behind it; edits of other notes go.
    const big = (await notes.findObjects({ title: 'big' }))[0] as { id: string }
    await notes.updateOneObject({ id: big.id }, { title: 'big, renamed' })
    await notes.updateObjects({ title: 'one' }, { title: 'one!' })
    const second = await a.sync()
    expect(second.sent.entries).toBe(1)
    expect(second.outgoingQuarantined.map((entry) => entry.reason)).toEqual(['HELD_BEHIND'])
    const listed = await a.clientSyncLog.getOutgoingQuarantinedEntries()
    expect(listed.map((entry) => [entry.reason, entry.entry?.operation])).toEqual([['TOO_LARGE', 'create'], ['HELD_BEHIND', 'modify']])
    expect(await a.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 0 })

    // The server raises its limit: retry sends the note and its edit, in order.
    log.maxWriteBytes = 100_000
    expect(await retryOutgoingEntries({ clientSyncLog: a.clientSyncLog, ids: [listed[0]!.id] })).toEqual({ released: 2 })
    const third = await a.sync()
    expect(third.sent.entries).toBe(2)
    await b.sync()
    expect(await titles(b)).toEqual(['big, renamed', 'one!', 'three', 'two'])
    expect(await b.contents()).toEqual(await a.contents())
    expect(await a.clientSyncLog.countOutgoingQuarantinedEntries()).toBe(0)
  })

  it('a log that publishes no limit and answers "too large": writes are halved until the one entry is alone, the rest is sent', async () => {
    const { log, a, b } = await setup()
    log.maxWriteBytes = 3000
    log.publishLimits = false
    const notes = a.storageManager.collection('note')
    for (let index = 0; index < 8; index += 1) {
      await notes.createObject({ title: `n${index}`, body: index === 5 ? 'y'.repeat(4000) : 'short' })
    }
    const result = await a.sync()
    expect(result.sent.entries).toBe(7)
    expect(result.outgoingQuarantined).toEqual([expect.objectContaining({ reason: 'TOO_LARGE', message: expect.stringMatching(/refused this entry on its own: body larger than 3000 bytes/) })])
    // 8 -> 4+4 -> 2+2 -> 1+1: three refused writes on the way to the entry.
    expect(log.refusedWrites).toBe(4)
    await b.sync()
    expect(await titles(b)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n6', 'n7'])
    // Discarding it removes the note here too: both devices hold the same.
    const discarded = await discard(a)
    expect(discarded).toMatchObject({ discarded: 1, objects: 1 })
    expect(await a.contents()).toEqual(await b.contents())
    expect(await a.sync()).toMatchObject({ sent: { entries: 0, quarantined: 0 } })
  })

  it('entries the log names as refused are quarantined with its words; earlier entries of the object go, later ones wait', async () => {
    const { log, a, b } = await setup()
    log.refuse = (data) => (data.includes('FORBIDDEN') ? 'the title contains a forbidden word' : null)
    const notes = a.storageManager.collection('note')
    const { object: note } = await notes.createObject({ title: 'fine' })
    await notes.updateOneObject({ id: note.id }, { title: 'FORBIDDEN' })
    await notes.updateOneObject({ id: note.id }, { body: 'after' })
    await notes.createObject({ title: 'other' })
    const result: SyncResult = await a.sync()
    expect(result.sent.entries).toBe(2)
    expect(result.outgoingQuarantined.map((entry) => [entry.operation, entry.reason, entry.message])).toEqual([
      ['modify', 'REFUSED', 'the title contains a forbidden word'],
      ['modify', 'HELD_BEHIND', expect.stringMatching(/waits behind an earlier quarantined entry/)],
    ])
    await b.sync()
    expect(await titles(b)).toEqual(['fine', 'other'])
    // Discarding the refused edit undoes it (and the one held behind it) on this device: both agree again.
    const [refused] = await a.clientSyncLog.getOutgoingQuarantinedEntries()
    await discard(a, [refused!.id])
    expect(await a.contents()).toEqual(await b.contents())
    expect(await titles(a)).toEqual(['fine', 'other'])
    // Later edits of the object are sent normally again.
    await notes.updateOneObject({ id: note.id }, { title: 'fine again' })
    await a.sync()
    await b.sync()
    expect(await titles(b)).toEqual(['fine again', 'other'])
  })

  it('failures that may pass later are never quarantined: the sync fails, the next one sends everything', async () => {
    const { log, a, b } = await setup()
    const notes = a.storageManager.collection('note')
    await notes.createObject({ title: 'one' })
    await notes.createObject({ title: 'two' })
    for (const failure of [
      Object.assign(new Error('server answered 503 SERVER_ERROR'), { code: 'SERVER_ERROR', status: 503 }),
      Object.assign(new Error('server answered 429 RATE_LIMITED'), { code: 'RATE_LIMITED', status: 429 }),
      Object.assign(new Error('server answered 401 UNAUTHENTICATED'), { code: 'UNAUTHENTICATED', status: 401 }),
      Object.assign(new Error('no answer within 10000 ms'), { code: 'TIMEOUT' }),
    ]) {
      log.failNextWrite = failure
      await expect(a.sync()).rejects.toBe(failure)
      expect(await a.clientSyncLog.countOutgoingQuarantinedEntries()).toBe(0)
      expect((await a.clientSyncLog.countPending()).unshared).toBe(2)
    }
    expect((await a.sync()).sent.entries).toBe(2)
    await b.sync()
    expect(await titles(b)).toEqual(['one', 'two'])
  })

  it('bytes and entries per write follow the published limits', async () => {
    const { log, a } = await setup()
    log.maxWriteBytes = 1000
    const notes = a.storageManager.collection('note')
    for (let index = 0; index < 12; index += 1) await notes.createObject({ title: `n${index}`, body: 'z'.repeat(200) })
    const sizes: number[] = []
    const write = log.writeEntries
    log.writeEntries = async (entries, options) => {
      sizes.push(entries.length)
      return write(entries, options)
    }
    const result = await a.sync()
    expect(result.sent.entries).toBe(12)
    expect(log.refusedWrites).toBe(0)
    expect(Math.max(...sizes)).toBeLessThan(5)
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(12)
  })

  it('ContinuousSync says so: finished counts, progress, and the status count of the outgoing quarantine', async () => {
    const { log, a } = await setup()
    log.maxWriteBytes = 1500
    await a.storageManager.collection('note').createObject({ title: 'big', body: 'x'.repeat(3000) })
    await a.storageManager.collection('note').createObject({ title: 'small' })
    const continuous = a.continuousSync
    const finished: Array<{ sent: number; quarantined: number }> = []
    continuous.on('finished', ({ sent, quarantined }) => finished.push({ sent, quarantined }))
    const result = await continuous.syncNow()
    expect(result.outgoingQuarantined).toHaveLength(1)
    expect(finished).toEqual([{ sent: 1, quarantined: 1 }])
    expect(continuous.status.outgoingQuarantined).toBe(1)
    expect(continuous.status.lastError).toBeNull()
    await continuous.stop()
  })
})
