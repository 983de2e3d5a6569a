import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { clientBackends } from '@storex-sync/test-backends'
import { findReceivedEntryProblem, type ClientSyncLogStorage, type QuarantineEntryInput } from '../src'
import { entry, setupLog, type LogSetup } from './setup'

function bad(overrides: Partial<QuarantineEntryInput> = {}): QuarantineEntryInput {
  return {
    deviceId: 'device-two',
    createdOn: 5_000,
    reason: 'UNKNOWN_COLLECTION',
    message: "collection 'future' is not registered",
    raw: { deviceId: 'device-two', createdOn: 5_000, data: '{"operation":"create","collection":"future"}' },
    ...overrides,
  }
}

describe.each(clientBackends)('quarantine on $kind', ({ create }) => {
  let setup: LogSetup
  let log: ClientSyncLogStorage
  beforeEach(async () => {
    setup = await setupLog(create)
    log = setup.clientSyncLog
  })
  afterEach(async () => {
    await setup?.storage.cleanup()
  })

  it('stores bad entries aside with their reason and raw data, once per deviceId + createdOn', async () => {
    expect(await log.quarantineEntries([bad(), bad({ createdOn: 6_000, reason: 'UNDECODABLE_ENTRY', raw: { data: '{{' } })], { now: 10 }))
      .toEqual({ quarantined: 2, duplicates: 0 })
    expect(await log.quarantineEntries([bad()], { now: 11 })).toEqual({ quarantined: 0, duplicates: 1 })
    const listed = await log.getQuarantinedEntries()
    expect(listed.map((item) => [item.createdOn, item.reason, item.quarantinedOn])).toEqual([
      [5_000, 'UNKNOWN_COLLECTION', 10],
      [6_000, 'UNDECODABLE_ENTRY', 10],
    ])
    expect(listed[1]!.raw).toEqual({ data: '{{' })
    expect(await log.countQuarantinedEntries()).toBe(2)
    // Quarantined entries never reach the log itself.
    expect(await log.getEntries()).toEqual([])
    // Nor does the clock observe them: a quarantined createdOn may be far off.
    expect(log.clock.current).toBeLessThan(5_000)
  })

  it('clears some or all quarantined entries', async () => {
    await log.quarantineEntries([bad(), bad({ createdOn: 6_000 }), bad({ createdOn: 7_000 })], { now: 10 })
    const [first] = await log.getQuarantinedEntries()
    expect(await log.clearQuarantinedEntries({ ids: [first!.id] })).toEqual({ deleted: 1 })
    expect((await log.getQuarantinedEntries()).map((item) => item.createdOn)).toEqual([6_000, 7_000])
    expect(await log.clearQuarantinedEntries()).toEqual({ deleted: 2 })
    expect(await log.countQuarantinedEntries()).toBe(0)
  })

  it('defers pending entries out of getNextObjectsToIntegrate until resumed, still counting them as pending', async () => {
    await log.insertReceivedEntries(
      [
        { deviceId: 'd2', createdOn: 1, operation: 'create', collection: 'user', pk: 'u1', value: { displayName: 'a' } },
        { deviceId: 'd2', createdOn: 2, operation: 'create', collection: 'user', pk: 'u2', value: { displayName: 'b' } },
      ],
      { now: 5 },
    )
    const [u1] = await log.getNextObjectsToIntegrate({ maxObjects: 1 })
    expect(u1!.pk).toBe('u1')
    await log.deferIntegration(u1!.entries)
    expect((await log.getNextObjectsToIntegrate()).map((object) => object.pk)).toEqual(['u2'])
    expect(await log.countPending()).toEqual({ unshared: 0, needsIntegration: 2 })
    // A deferred entry still reads as needing integration.
    expect((await log.getEntriesForObject('user', 'u1'))[0]!.needsIntegration).toBe(true)
    await log.resumeDeferredIntegration()
    expect((await log.getNextObjectsToIntegrate()).map((object) => object.pk)).toEqual(['u1', 'u2'])
  })

  it('does not defer entries that are already integrated', async () => {
    const own = entry({ createdOn: 3, pk: 'u3' })
    await log.insertEntries([own])
    await log.deferIntegration([own])
    expect((await log.getEntries())[0]!.needsIntegration).toBe(false)
  })
})

describe('findReceivedEntryProblem', () => {
  it('accepts good entries and names what is wrong with bad ones', async () => {
    const setup = await setupLog(clientBackends[0]!.create)
    const registry = setup.storage.storageManager.registry
    const good = { deviceId: 'd', createdOn: 1, operation: 'modify', collection: 'user', pk: 'u1', value: { age: 3 } }
    expect(findReceivedEntryProblem(registry, good)).toBeNull()
    expect(findReceivedEntryProblem(registry, { ...good, operation: 'delete', value: undefined })).toBeNull()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, operation: 'upsert' }, 'UNKNOWN_OPERATION'],
      [{ ...good, collection: 'future' }, 'UNKNOWN_COLLECTION'],
      [{ ...good, pk: 42 }, 'INVALID_PK'], // user.id is a 'string' field
      [{ ...good, pk: { id: 'u1' } }, 'INVALID_PK'],
      [{ ...good, pk: null }, 'INVALID_PK'],
      [{ ...good, value: 'x' }, 'INVALID_ENTRY'],
      [{ ...good, createdOn: 'yesterday' }, 'CLOCK_OUT_OF_RANGE'],
      [{ ...good, createdOn: 2 ** 53 }, 'CLOCK_OUT_OF_RANGE'],
      [{ ...good, createdOn: -1 }, 'CLOCK_OUT_OF_RANGE'],
      [{ ...good, createdOn: 1.5 }, 'CLOCK_OUT_OF_RANGE'],
      [{ ...good, deviceId: '' }, 'INVALID_ENTRY'],
      [{ ...good, deviceId: { id: 1 } }, 'INVALID_ENTRY'],
    ]
    for (const [candidate, reason] of cases) {
      expect(findReceivedEntryProblem(registry, candidate), JSON.stringify(candidate)).toMatchObject({ reason })
    }
    expect(findReceivedEntryProblem(registry, null as any)).toMatchObject({ reason: 'UNDECODABLE_ENTRY' })
    await setup.storage.cleanup()
  })
})
