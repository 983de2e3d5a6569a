import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { clientBackends } from '@storex-sync/test-backends'
import type { ClientSyncLogStorage } from '../src'
import { entry, setupLog, type LogSetup } from './setup'

describe.each(clientBackends)('outgoing quarantine on $kind', ({ create }) => {
  let setup: LogSetup
  let log: ClientSyncLogStorage
  beforeEach(async () => {
    setup = await setupLog(create)
    log = setup.clientSyncLog
    await log.insertEntries([
      entry({ createdOn: 1, pk: 'u1' }),
      entry({ createdOn: 2, pk: 'u2' }),
      entry({ createdOn: 3, pk: 'u1', operation: 'modify', value: { age: 3 } }),
      entry({ createdOn: 4, pk: 'u3' }),
    ])
  })
  afterEach(async () => {
    await setup?.storage.cleanup()
  })

  it('sets entries aside with their reason: no longer unshared, listed with the entry, counted, their objects known', async () => {
    const [first, , third] = await log.getUnsharedEntries()
    expect(await log.quarantineOutgoingEntries([
      { entry: first!, reason: 'TOO_LARGE', message: 'larger than 100 bytes' },
      { entry: third!, reason: 'HELD_BEHIND', message: 'waits for createdOn 1' },
    ], { now: 50 })).toEqual({ quarantined: 2 })
    // Once only, and the rest still waits to be sent.
    expect(await log.quarantineOutgoingEntries([{ entry: first!, reason: 'TOO_LARGE', message: 'again' }], { now: 60 })).toEqual({ quarantined: 0 })
    expect((await log.getUnsharedEntries()).map((item) => item.createdOn)).toEqual([2, 4])
    expect(await log.countPending()).toEqual({ unshared: 2, needsIntegration: 0 })
    const listed = await log.getOutgoingQuarantinedEntries()
    expect(listed.map((item) => [item.entry?.createdOn, item.reason, item.message, item.quarantinedOn, item.collection, item.pk])).toEqual([
      [1, 'TOO_LARGE', 'larger than 100 bytes', 50, 'user', 'u1'],
      [3, 'HELD_BEHIND', 'waits for createdOn 1', 50, 'user', 'u1'],
    ])
    expect(await log.countOutgoingQuarantinedEntries()).toBe(2)
    expect([...(await log.getOutgoingQuarantinedObjects())]).toEqual([[listed[0]!.objectKey, 1]])
  })

  it('releases per object: one id puts all of its object\'s quarantined entries back in line', async () => {
    const [first, second, third] = await log.getUnsharedEntries()
    await log.quarantineOutgoingEntries([
      { entry: first!, reason: 'REFUSED', message: 'no' },
      { entry: second!, reason: 'REFUSED', message: 'no' },
      { entry: third!, reason: 'HELD_BEHIND', message: 'waits' },
    ], { now: 1 })
    const listed = await log.getOutgoingQuarantinedEntries()
    expect(await log.releaseOutgoingQuarantinedEntries({ ids: [listed[0]!.id] })).toMatchObject({ released: 2 })
    expect((await log.getUnsharedEntries()).map((item) => item.createdOn)).toEqual([1, 3, 4])
    expect((await log.getOutgoingQuarantinedEntries()).map((item) => item.entry?.createdOn)).toEqual([2])
    expect(await log.releaseOutgoingQuarantinedEntries()).toMatchObject({ released: 1 })
    expect(await log.countOutgoingQuarantinedEntries()).toBe(0)
  })

  it('plans a discard per object: deletes the entries and records, and marks what remains of the object for integration', async () => {
    await log.markAsShared([{ deviceId: 'device-one', createdOn: 1 }], { sharedOn: 5 })
    const unshared = await log.getUnsharedEntries()
    const third = unshared.find((item) => item.createdOn === 3)!
    await log.quarantineOutgoingEntries([{ entry: third, reason: 'TOO_LARGE', message: 'big' }], { now: 1 })
    const plan = await log.planOutgoingDiscard()
    expect(plan.objects).toEqual([{ collection: 'user', pk: 'u1', objectKey: expect.any(String) }])
    expect(plan.entryIds).toHaveLength(1)
    await setup.storage.storageManager.backend.operation('executeBatch', plan.batch)
    const entries = await log.getEntries()
    expect(entries.map((item) => [item.createdOn, item.needsIntegration])).toEqual([[1, true], [2, false], [4, false]])
    expect(await log.countOutgoingQuarantinedEntries()).toBe(0)
  })

  it('settles entries made moot by a later delete: drops those before the held delete, releases it and the held ones after it', async () => {
    await log.insertEntries([
      entry({ createdOn: 5, pk: 'u1', operation: 'delete' }),
      entry({ createdOn: 6, pk: 'u1' }),
      entry({ createdOn: 7, pk: 'u1', operation: 'modify', value: { age: 7 } }),
      entry({ createdOn: 8, pk: 'u1', operation: 'modify', value: { age: 8 } }),
    ])
    const byCreatedOn = new Map((await log.getUnsharedEntries()).map((item) => [item.createdOn, item]))
    const held = (createdOn: number) => ({ entry: byCreatedOn.get(createdOn)!, reason: 'HELD_BEHIND' as const, message: 'waits' })
    await log.quarantineOutgoingEntries([
      { entry: byCreatedOn.get(1)!, reason: 'TOO_LARGE', message: 'big' },
      held(3), held(5), held(6),
      { entry: byCreatedOn.get(7)!, reason: 'REFUSED', message: 'no' },
      held(8),
    ], { now: 1 })
    expect(await log.settleOutgoingBehindDeletes()).toEqual({ dropped: 2, released: 2 })
    expect((await log.getEntries()).map((item) => item.createdOn)).toEqual([2, 4, 5, 6, 7, 8])
    expect((await log.getUnsharedEntries()).map((item) => item.createdOn)).toEqual([2, 4, 5, 6])
    expect((await log.getOutgoingQuarantinedEntries()).map((item) => [item.entry?.createdOn, item.reason])).toEqual([[7, 'REFUSED'], [8, 'HELD_BEHIND']])
    expect(await log.settleOutgoingBehindDeletes()).toEqual({ dropped: 0, released: 0 })
    // A delete still waiting to be sent, passed in, settles what is quarantined before it.
    const [refused] = await log.getOutgoingQuarantinedEntries()
    expect(await log.settleOutgoingBehindDeletes([{ objectKey: refused!.objectKey, createdOn: 9 }])).toEqual({ dropped: 2, released: 0 })
    expect(await log.countOutgoingQuarantinedEntries()).toBe(0)
  })
})
