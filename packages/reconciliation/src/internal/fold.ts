import type { ClientSyncLogEntry } from '@storex-sync/client-sync-log'

/** The value a field has, and the position (in the sorted history) of the entry that wrote it. */
export interface FieldWinner {
  value: unknown
  index: number
}

/** The state of one object after folding a sorted history (or a part of it). */
export interface ObjectState {
  exists: boolean
  /** Position of the create that started the current life (-1 when absent). */
  lifeStart: number
  fields: Map<string, FieldWinner>
}

/** What a fold saw that the caller may have to act on. */
export interface FoldEvents {
  /** Called for a create that arrives while the object exists (no delete in between). */
  onDoubleCreate?: (index: number) => void
}

export function emptyState(): ObjectState {
  return { exists: false, lifeStart: -1, fields: new Map() }
}

/**
 * Applies one entry to a state (mutating it). The rules:
 * - delete: the object is gone, with all its fields;
 * - create while absent: a new life starts with exactly the create's fields;
 * - create while present (double create): its fields act as modifications;
 * - modify while present: its fields win (the history is sorted, so later wins);
 * - modify while absent: dropped (never a half object).
 */
export function applyEntry(
  state: ObjectState,
  entry: ClientSyncLogEntry,
  index: number,
  pkFields: ReadonlySet<string>,
  events: FoldEvents = {},
): void {
  if (entry.operation === 'delete') {
    if (state.exists) {
      state.exists = false
      state.lifeStart = -1
      state.fields = new Map()
    }
    return
  }
  if (entry.operation === 'create' && !state.exists) {
    state.exists = true
    state.lifeStart = index
    state.fields = new Map()
  } else if (entry.operation === 'create') {
    events.onDoubleCreate?.(index)
  } else if (!state.exists) {
    return
  }
  for (const field of Object.keys(entry.value)) {
    if (pkFields.has(field)) {
      continue
    }
    state.fields.set(field, { value: entry.value[field], index })
  }
}
