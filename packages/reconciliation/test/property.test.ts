import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { clientBackends, type TestStorage } from '@storex-sync/test-backends'
import * as storex from '@worldbrain/storex'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import {
  applyBatch,
  applyBatchInMemory,
  clearDatabase,
  collections,
  entry,
  readSnapshot,
  referenceState,
  registerCollections,
  splitAt,
  writeSnapshot,
} from './helpers'

const registry = new storex.StorageRegistry()
registry.registerCollections(collections as any)

interface RawEntry {
  deviceId: string
  pk: string
  operation: 'create' | 'modify' | 'delete'
  createdOn: number
  title: string
  count: number
  note: string | null
  fields: Array<'title' | 'count' | 'note'>
}

const rawEntry = (devices: readonly string[]) =>
  fc.record({
    deviceId: fc.constantFrom(...devices),
    pk: fc.constantFrom('o1', 'o2', 'o3'),
    operation: fc.constantFrom('create', 'create', 'modify', 'modify', 'modify', 'delete') as fc.Arbitrary<RawEntry['operation']>,
    // A small clock range, so equal clocks on different devices happen often.
    createdOn: fc.integer({ min: 1, max: 12 }),
    title: fc.constantFrom('w', 'x', 'y', 'z'),
    count: fc.integer({ min: 0, max: 9 }),
    // An optional field: creates may leave it out, so a recreation must drop it.
    note: fc.option(fc.constantFrom('n1', 'n2'), { nil: null }),
    fields: fc.subarray(['title', 'count', 'note'] as Array<'title' | 'count' | 'note'>, { minLength: 1 }),
  })

function toEntry(raw: RawEntry): ClientSyncLogEntry {
  const full: Record<string, unknown> = { title: raw.title, count: raw.count }
  if (raw.note !== null) {
    full.note = raw.note
  }
  const value =
    raw.operation === 'create'
      ? full
      : Object.fromEntries(raw.fields.filter((field) => field in full).map((field) => [field, full[field]]))
  return entry(raw.operation, { deviceId: raw.deviceId, pk: raw.pk, createdOn: raw.createdOn, value })
}

/** A history of a few objects by 2-3 devices (one entry per device and clock value), in arrival order. */
const history = fc
  .constantFrom(['device-a', 'device-b'], ['device-a', 'device-b', 'device-c'])
  .chain((devices) =>
    fc.uniqueArray(rawEntry(devices), {
      minLength: 1,
      maxLength: 10,
      selector: (raw) => `${raw.deviceId}@${raw.createdOn}`,
    }),
  )
  .map((raws) => raws.map(toEntry))
  .chain((entries) =>
    fc.tuple(
      // arrival order
      fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
      // a different order to hand the entries to the reconciler in
      fc.shuffledSubarray(entries.map((_, index) => index), { minLength: entries.length, maxLength: entries.length }),
    ),
  )

function inputOrder<T>(items: T[], order: number[]): T[] {
  return order.map((index) => items[index]!)
}

describe('reconcileSyncLog against the reference model (in memory, strict)', () => {
  it('every split into integrated prefix and received rest ends in the state of all entries, whatever the input order', () => {
    fc.assert(
      fc.property(history, ([arrival, order]) => {
        const expected = referenceState(arrival)
        for (let integrated = 0; integrated <= arrival.length; integrated += 1) {
          const entries = splitAt(arrival, integrated)
          const before = referenceState(entries.slice(0, integrated))
          const operations = reconcileSyncLog(entries, { storageRegistry: registry })
          expect(applyBatchInMemory(before, operations)).toEqual(expected)
          // Deterministic: the same history in another order gives the same operations.
          expect(reconcileSyncLog(inputOrder(entries, order), { storageRegistry: registry })).toEqual(operations)
          expect(reconcileSyncLog([...entries].reverse(), { storageRegistry: registry })).toEqual(operations)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('reconciling in two steps equals reconciling in one', () => {
    fc.assert(
      fc.property(history, fc.nat(), fc.nat(), ([arrival], first, second) => {
        const integrated = first % (arrival.length + 1)
        const middle = integrated + (second % (arrival.length - integrated + 1))
        const start = referenceState(arrival.slice(0, integrated))

        const oneStep = applyBatchInMemory(
          start,
          reconcileSyncLog(splitAt(arrival, integrated), { storageRegistry: registry }),
        )

        // Step 1 receives only [integrated, middle); step 2 the rest.
        const firstPart = splitAt(arrival.slice(0, middle), integrated)
        const afterFirst = applyBatchInMemory(start, reconcileSyncLog(firstPart, { storageRegistry: registry }))
        expect(afterFirst).toEqual(referenceState(arrival.slice(0, middle)))
        const afterSecond = applyBatchInMemory(
          afterFirst,
          reconcileSyncLog(splitAt(arrival, middle), { storageRegistry: registry }),
        )

        expect(afterSecond).toEqual(oneStep)
        expect(oneStep).toEqual(referenceState(arrival))
      }),
      { numRuns: 1000 },
    )
  })
})

describe.each(clientBackends)('reconcileSyncLog against the reference model on $kind', ({ create }) => {
  let storage: TestStorage
  beforeAll(async () => {
    storage = await create({ setup: registerCollections })
  })
  afterAll(async () => {
    await storage?.cleanup()
  })

  it('every split ends in the state of all entries, also when applied in two steps', async () => {
    const { storageManager } = storage
    await fc.assert(
      fc.asyncProperty(history, fc.nat(), async ([arrival, order], cut) => {
        const expected = referenceState(arrival)
        for (let integrated = 0; integrated <= arrival.length; integrated += 1) {
          await clearDatabase(storageManager)
          await writeSnapshot(storageManager, referenceState(arrival.slice(0, integrated)))
          const entries = inputOrder(splitAt(arrival, integrated), order)
          await applyBatch(storageManager, reconcileSyncLog(entries, { storageRegistry: storageManager.registry }))
          expect(await readSnapshot(storageManager)).toEqual(expected)
        }

        // Two steps on the same database: received [0, middle) first, then the rest.
        const middle = cut % (arrival.length + 1)
        await clearDatabase(storageManager)
        await applyBatch(
          storageManager,
          reconcileSyncLog(splitAt(arrival.slice(0, middle), 0), { storageRegistry: storageManager.registry }),
        )
        await applyBatch(storageManager, reconcileSyncLog(splitAt(arrival, middle), { storageRegistry: storageManager.registry }))
        expect(await readSnapshot(storageManager)).toEqual(expected)
      }),
      { numRuns: 25 },
    )
  })
})
