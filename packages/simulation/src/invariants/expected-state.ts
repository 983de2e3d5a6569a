import type { StorageRegistry } from '@worldbrain/storex'
import { compareEntries, getObjectKey, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { normalizeObject } from '../schema'
import stringify from '../internal/stable-stringify'

/** Every synced object of a device, normalized: collection -> object key -> fields (pk included). */
export type DeviceContents = Record<string, Record<string, Record<string, unknown>>>

/**
 * Computes what every device must hold from the whole history of writes.
 * The default, `lastWriterWins`, mirrors @storex-sync/reconciliation; pass
 * your own when you simulate your own reconciler.
 */
export type ExpectedStateFunction = (entries: ClientSyncLogEntry[], registry: StorageRegistry) => DeviceContents

export interface FoldState {
  exists: boolean
  fields: Record<string, unknown>
  pk: unknown
  /** The entry that last created or deleted the object. */
  lastLifeEvent: ClientSyncLogEntry | null
  /** Per field, the entry that wrote its current value. */
  writers: Record<string, ClientSyncLogEntry>
}

/** Each object's history folded, by object key. */
export type FoldStates = Map<string, FoldState & { collection: string }>

/** Folds the histories in (createdOn, deviceId) order: per-field last writer wins, delete removes, create while absent starts a new life, modify while absent is dropped. */
export function foldHistories(entries: ClientSyncLogEntry[], registry: StorageRegistry): FoldStates {
  const states: FoldStates = new Map()
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
    const objects = (contents[state.collection] ??= {})
    if (state.exists) {
      objects[key] = normalizeObject(registry, state.collection, state.fields)
    }
  }
  return contents
}

function describeEntry(entry: ClientSyncLogEntry | undefined | null): string {
  return entry ? `${entry.operation} by device ${JSON.stringify(entry.deviceId)} at createdOn ${entry.createdOn}` : 'no entry'
}

/** A difference between what a device holds and what it should hold, by object key. */
export type ContentDifference =
  | { kind: 'missing'; key: string }
  | { kind: 'unexpected'; key: string }
  | { kind: 'field'; key: string; field: string; actual: unknown; expected: unknown }

/** Every difference between two devices' contents (or a device's and the expected state), collection by collection. */
export function diffContents(actual: DeviceContents, expected: DeviceContents): ContentDifference[] {
  const differences: ContentDifference[] = []
  const collections = new Set([...Object.keys(actual), ...Object.keys(expected)])
  for (const collection of collections) {
    const have = actual[collection] ?? {}
    const want = expected[collection] ?? {}
    for (const key of new Set([...Object.keys(have), ...Object.keys(want)])) {
      if (!(key in have)) {
        differences.push({ kind: 'missing', key })
      } else if (!(key in want)) {
        differences.push({ kind: 'unexpected', key })
      } else if (stringify(have[key]) !== stringify(want[key])) {
        const held = have[key] ?? {}
        const wanted = want[key] ?? {}
        for (const field of new Set([...Object.keys(held), ...Object.keys(wanted)])) {
          if (stringify(held[field]) !== stringify(wanted[field])) {
            differences.push({ kind: 'field', key, field, actual: held[field], expected: wanted[field] })
          }
        }
      }
    }
  }
  return differences
}

/**
 * A difference in the words of the invariants, starting with its number: a
 * lost object, a field that does not hold its last writer's value, a deleted
 * object that came back, an object nothing created. `state` is the object's
 * history, when known.
 */
export function describeDifference(subject: string, difference: ContentDifference, state: FoldState | undefined): string {
  switch (difference.kind) {
    case 'missing':
      return `[2 lost write] ${subject} lacks ${difference.key}, which exists after ${describeEntry(state?.lastLifeEvent)} and was not deleted later`
    case 'unexpected':
      return state
        ? `[4 deleted stays deleted] ${subject} holds ${difference.key}, but its last create/delete is ${describeEntry(state.lastLifeEvent)}`
        : `[2 invented object] ${subject} holds ${difference.key}, which no log entry created`
    case 'field':
      return `[2 last writer] ${subject}: ${difference.key}.${difference.field} is ${stringify(difference.actual)} but its last writer (${describeEntry(state?.writers[difference.field])}) wrote ${stringify(difference.expected)}`
  }
}
