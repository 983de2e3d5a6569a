import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { clientBackends, type TestStorage } from '@storex-sync/test-backends'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import {
  applyBatch,
  clearDatabase,
  entry,
  readSnapshot,
  referenceState,
  registerCollections,
  splitAt,
  writeSnapshot,
} from './helpers'

/**
 * One step of a flow, in the order this device receives them. Devices write
 * with their own clocks, so arrival order and clock order differ in places.
 */
type Step = [operation: 'create' | 'modify' | 'delete', deviceId: string, createdOn: number, value?: Record<string, unknown>]

interface Flow {
  name: string
  steps: Step[]
  /** The item after all steps, or null when it must not exist. */
  expected: Record<string, unknown> | null
}

const FLOWS: Flow[] = [
  { name: 'creation', steps: [['create', 'a', 10, { title: 'one', count: 1 }]], expected: { title: 'one', count: 1 } },
  {
    name: 'creation, modification',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'b', 20, { title: 'two' }],
    ],
    expected: { title: 'two', count: 1 },
  },
  {
    name: 'creation, modification, deletion',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'b', 20, { title: 'two' }],
      ['delete', 'a', 30],
    ],
    expected: null,
  },
  {
    name: 'creation, modification, modification, deletion',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'b', 20, { title: 'two' }],
      ['modify', 'a', 25, { count: 3 }],
      ['delete', 'b', 30],
    ],
    expected: null,
  },
  {
    name: 'creation, modifications of different fields by different devices',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'a', 22, { count: 5 }],
      ['modify', 'b', 21, { title: 'b-title', count: 4 }],
    ],
    expected: { title: 'b-title', count: 5 },
  },
  {
    name: 'creation, creation (double create, merged)',
    steps: [
      ['create', 'a', 20, { title: 'from a', count: 1 }],
      ['create', 'b', 10, { title: 'from b', count: 2 }],
      ['modify', 'b', 30, { count: 7 }],
    ],
    expected: { title: 'from a', count: 7 },
  },
  {
    name: 'modification, modification (object never created here)',
    steps: [
      ['modify', 'a', 10, { title: 'one' }],
      ['modify', 'b', 20, { title: 'two' }],
    ],
    expected: null,
  },
  {
    name: 'creation, deletion, recreation',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['delete', 'b', 20],
      ['create', 'a', 30, { title: 'again', count: 9 }],
    ],
    expected: { title: 'again', count: 9 },
  },
  {
    name: 'creation, modification, deletion, recreation, modification',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'a', 15, { count: 2 }],
      ['delete', 'b', 20],
      ['create', 'b', 30, { title: 'again', count: 9 }],
      ['modify', 'a', 40, { title: 'again!' }],
    ],
    expected: { title: 'again!', count: 9 },
  },
  {
    name: 'deletion, recreation, redeletion',
    steps: [
      ['delete', 'a', 10],
      ['create', 'b', 20, { title: 'one', count: 1 }],
      ['delete', 'a', 30],
    ],
    expected: null,
  },
  { name: 'deletion, modification', steps: [['delete', 'a', 10], ['modify', 'b', 20, { title: 'x' }]], expected: null },
  {
    name: 'a delete that arrives late wins over a concurrent modification',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'a', 40, { title: 'edited offline' }],
      ['delete', 'b', 30],
    ],
    expected: null,
  },
  {
    name: 'a recreation that arrives before the deletion it follows',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['create', 'b', 30, { title: 'new life', count: 3 }],
      ['modify', 'a', 25, { count: 2 }],
      ['delete', 'b', 20],
    ],
    expected: { title: 'new life', count: 3 },
  },
  {
    name: 'equal clocks: the higher deviceId wins',
    steps: [
      ['create', 'a', 10, { title: 'one', count: 1 }],
      ['modify', 'b', 20, { title: 'from b' }],
      ['modify', 'a', 20, { title: 'from a', count: 2 }],
    ],
    expected: { title: 'from b', count: 2 },
  },
]

function flowEntries(steps: Step[]): ClientSyncLogEntry[] {
  return steps.map(([operation, deviceId, createdOn, value]) =>
    entry(operation, { deviceId, createdOn, value, pk: 'item-1' }),
  )
}

describe('the flow table matches the reference model', () => {
  it.each(FLOWS)('$name', ({ steps, expected }) => {
    const state = referenceState(flowEntries(steps))
    expect(state.item?.['item-1'] ?? null).toEqual(expected ? { id: 'item-1', ...expected } : null)
  })
})

describe.each(clientBackends)('reconciliation flows applied on $kind', ({ create }) => {
  let storage: TestStorage
  beforeAll(async () => {
    storage = await create({ setup: registerCollections })
  })
  afterAll(async () => {
    await storage?.cleanup()
  })

  for (const flow of FLOWS) {
    describe(flow.name, () => {
      for (let integrated = 0; integrated <= flow.steps.length; integrated += 1) {
        const received = flow.steps.length - integrated
        it(`with the last ${received} of ${flow.steps.length} entries needing integration`, async () => {
          const { storageManager } = storage
          const entries = splitAt(flowEntries(flow.steps), integrated)
          await clearDatabase(storageManager)
          // The database holds exactly what the integrated entries imply.
          await writeSnapshot(storageManager, referenceState(entries.slice(0, integrated)))

          const operations = reconcileSyncLog(entries, { storageRegistry: storageManager.registry })
          await applyBatch(storageManager, operations)

          const items = (await readSnapshot(storageManager)).item ?? {}
          expect(items).toEqual(flow.expected ? { 'item-1': { id: 'item-1', ...flow.expected } } : {})
          if (received === 0) {
            expect(operations).toEqual([])
          }
        })
      }
    })
  }
})
