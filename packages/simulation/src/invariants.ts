import type { StorageRegistry } from '@worldbrain/storex'
import { compareEntries, getObjectKey, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { normalizeObject } from './schema'
import stringify from './internal/stable-stringify'

/** Every synced object of a device, normalized: collection -> object key -> fields (pk included). */
export type DeviceContents = Record<string, Record<string, Record<string, unknown>>>

/**
 * Computes what every device must hold from the whole history of writes.
 * The default, `lastWriterWins`, mirrors @storex-sync/reconciliation; pass
 * your own when you simulate your own reconciler.
 */
export type ExpectedStateFunction = (entries: ClientSyncLogEntry[], registry: StorageRegistry) => DeviceContents

interface FoldState {
  exists: boolean
  fields: Record<string, unknown>
  pk: unknown
  /** The entry that last created or deleted the object. */
  lastLifeEvent: ClientSyncLogEntry | null
  /** Per field, the entry that wrote its current value. */
  writers: Record<string, ClientSyncLogEntry>
}

/** Folds the histories in (createdOn, deviceId) order: per-field last writer wins, delete removes, create while absent starts a new life, modify while absent is dropped. */
export function foldHistories(entries: ClientSyncLogEntry[], registry: StorageRegistry): Map<string, FoldState & { collection: string }> {
  const states = new Map<string, FoldState & { collection: string }>()
  const pkFieldOf = (collection: string) => {
    const pkIndex = registry.collections[collection]?.pkIndex ?? 'id'
    return typeof pkIndex === 'string' ? pkIndex : 'id'
  }
  for (const entry of [...entries].sort(compareEntries)) {
    const key = getObjectKey(entry.collection, entry.pk)
    let state = states.get(key)
    if (!state) {
      state = { collection: entry.collection, exists: false, fields: {}, pk: entry.pk, lastLifeEvent: null, writers: {} }
      states.set(key, state)
    }
    if (entry.operation === 'delete') {
      state.exists = false
      state.fields = {}
      state.writers = {}
      state.lastLifeEvent = entry
      continue
    }
    if (entry.operation === 'create' && !state.exists) {
      state.exists = true
      state.fields = { [pkFieldOf(entry.collection)]: entry.pk }
      state.writers = {}
      state.lastLifeEvent = entry
    } else if (!state.exists) {
      continue
    }
    for (const [field, value] of Object.entries(entry.value)) {
      if (field === pkFieldOf(entry.collection)) continue
      state.fields[field] = value
      state.writers[field] = entry
    }
  }
  return states
}

export const lastWriterWins: ExpectedStateFunction = (entries, registry) => {
  const contents: DeviceContents = {}
  for (const [key, state] of foldHistories(entries, registry)) {
    contents[state.collection] ??= {}
    if (state.exists) {
      contents[state.collection]![key] = normalizeObject(registry, state.collection, state.fields)
    }
  }
  return contents
}

function describeEntry(entry: ClientSyncLogEntry | undefined | null): string {
  return entry ? `${entry.operation} by device ${JSON.stringify(entry.deviceId)} at createdOn ${entry.createdOn}` : 'no entry'
}

/**
 * Compares a device's contents with the expected state and names each
 * difference in the words of the invariants: a lost object, a field that
 * does not hold its last writer's value, a deleted object that came back.
 */
export function compareWithExpected(
  deviceName: string,
  actual: DeviceContents,
  expected: DeviceContents,
  states: Map<string, FoldState & { collection: string }> | null,
  registry: StorageRegistry,
): string[] {
  const problems: string[] = []
  const collections = new Set([...Object.keys(actual), ...Object.keys(expected)])
  for (const collection of collections) {
    const have = actual[collection] ?? {}
    const want = expected[collection] ?? {}
    for (const key of new Set([...Object.keys(have), ...Object.keys(want)])) {
      const state = states?.get(key)
      if (!(key in have)) {
        problems.push(
          `[2 lost write] ${deviceName} lacks ${key}, which exists after ${describeEntry(state?.lastLifeEvent)} and was not deleted later`,
        )
      } else if (!(key in want)) {
        problems.push(
          state
            ? `[4 deleted stays deleted] ${deviceName} holds ${key}, but its last create/delete is ${describeEntry(state.lastLifeEvent)}`
            : `[2 invented object] ${deviceName} holds ${key}, which no log entry created`,
        )
      } else if (stringify(have[key]) !== stringify(want[key])) {
        const fields = new Set([...Object.keys(have[key]!), ...Object.keys(want[key]!)])
        for (const field of fields) {
          if (stringify(have[key]![field]) !== stringify(want[key]![field])) {
            problems.push(
              `[2 last writer] ${deviceName}: ${key}.${field} is ${stringify(have[key]![field])} but its last writer (${describeEntry(state?.writers[field])}) wrote ${stringify(want[key]![field])}`,
            )
          }
        }
      }
    }
  }
  void registry
  return problems
}
