import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import {
  checkEntry,
  compareEntries,
  getObjectKey,
  getPkFields,
  getPkWhere,
  type ClientSyncLogEntry,
  type ReconcilerFunction,
} from '@storex-sync/client-sync-log'
import { ReconciliationError } from './errors'
import { applyEntry, emptyState, type ObjectState } from './internal/fold'

/**
 * What to do when an object's history has two creates with no delete between
 * them (two devices created the same pk, or a create was replayed):
 * - `'merge'` (default): the later create's fields act as modifications;
 * - `'error'`: throw a `ReconciliationError` with code `DOUBLE_CREATE`.
 */
export type DoubleCreateBehaviour = 'merge' | 'error'

export interface ReconcileSyncLogOptions {
  storageRegistry: StorageRegistry
  doubleCreateBehaviour?: DoubleCreateBehaviour
}

/**
 * The default reconciler. Gets the whole history of every object to decide
 * (integrated entries with `needsIntegration: false`, received ones with
 * `true`), computes each object's state from all of it (per-field last writer
 * wins, ordered by `compareEntries`; deletes win over earlier writes; a later
 * create recreates), and returns the operations that move the database from
 * the state of the integrated entries alone to that state.
 *
 * Deterministic: the same entries give the same operations, in whatever order
 * they are passed.
 */
export function reconcileSyncLog(entries: ClientSyncLogEntry[], options: ReconcileSyncLogOptions): OperationBatch {
  const { storageRegistry } = options ?? ({} as ReconcileSyncLogOptions)
  const doubleCreateBehaviour = options?.doubleCreateBehaviour ?? 'merge'
  if (!storageRegistry || !storageRegistry.collections) {
    throw new ReconciliationError(
      'INVALID_OPTION',
      'reconcileSyncLog() needs { storageRegistry }: pass storageManager.registry.',
    )
  }
  if (doubleCreateBehaviour !== 'merge' && doubleCreateBehaviour !== 'error') {
    throw new ReconciliationError(
      'INVALID_OPTION',
      `doubleCreateBehaviour must be 'merge' or 'error', got ${JSON.stringify(doubleCreateBehaviour)}.`,
    )
  }

  const histories = new Map<string, ClientSyncLogEntry[]>()
  for (const entry of entries) {
    validateEntry(entry, storageRegistry)
    const key = getObjectKey(entry.collection, entry.pk)
    const history = histories.get(key)
    if (history) {
      history.push(entry)
    } else {
      histories.set(key, [entry])
    }
  }

  const operations: OperationBatch = []
  const keys = [...histories.keys()].sort()
  for (const key of keys) {
    reconcileObject(histories.get(key)!, storageRegistry, doubleCreateBehaviour, operations)
  }
  return operations
}

/**
 * A reconciler with fixed options, to pass to `doSync({ reconciler })`, e.g.
 * `createReconciler({ doubleCreateBehaviour: 'error' })`.
 */
export function createReconciler(options: { doubleCreateBehaviour?: DoubleCreateBehaviour } = {}): ReconcilerFunction {
  const reconciler: ReconcilerFunction = (entries, { storageRegistry }) => reconcileSyncLog(entries, { storageRegistry, ...options })
  reconciler.compactableHistory = true
  return reconciler
}

// Per-field last writer wins looks only at each field's latest write and the latest delete.
;(reconcileSyncLog as ReconcilerFunction).compactableHistory = true

/** The one entry check of client-sync-log, with this package's error. */
function validateEntry(entry: ClientSyncLogEntry, storageRegistry: StorageRegistry): void {
  // Fields this app version does not know never reach the log (doSync keeps such entries aside); a
  // log written before that check may hold some, and reconciling those objects must not stop.
  const problem = checkEntry(entry, { storageRegistry, checkFields: false })
  if (problem) {
    const code = problem.reason === 'UNDECODABLE_ENTRY' ? 'INVALID_ENTRY' : problem.reason
    const where = entry && typeof entry === 'object' ? ` (device ${JSON.stringify(entry.deviceId)}, createdOn ${entry.createdOn})` : ''
    throw new ReconciliationError(
      code,
      `an entry${where} cannot be reconciled: ${problem.message}. Set such entries aside before reconciling them ` +
        '(doSync quarantines them), or register the collection on this device (update the app).',
    )
  }
}

function isSorted(history: ClientSyncLogEntry[]): boolean {
  for (let index = 1; index < history.length; index += 1) {
    if (compareEntries(history[index - 1]!, history[index]!) > 0) {
      return false
    }
  }
  return true
}

/** Sorts (only if needed) and drops repeated copies of one entry; a copy already integrated marks it integrated. */
function normalizeHistory(history: ClientSyncLogEntry[]): ClientSyncLogEntry[] {
  const sorted = isSorted(history) ? history : [...history].sort(compareEntries)
  const result: ClientSyncLogEntry[] = []
  for (const entry of sorted) {
    const previous = result[result.length - 1]
    if (previous && compareEntries(previous, entry) === 0) {
      if (previous.needsIntegration && !entry.needsIntegration) {
        result[result.length - 1] = { ...previous, needsIntegration: false }
      }
      continue
    }
    result.push(entry)
  }
  return result
}

function reconcileObject(
  rawHistory: ClientSyncLogEntry[],
  storageRegistry: StorageRegistry,
  doubleCreateBehaviour: DoubleCreateBehaviour,
  operations: OperationBatch,
): void {
  const history = normalizeHistory(rawHistory)
  const { collection, pk } = history[0]!
  const pkFields = new Set(getPkFields(storageRegistry, collection))

  // One pass, two folds: what the database holds now (integrated entries
  // only) and what it must hold (all entries).
  const current = emptyState()
  const target = emptyState()
  const onDoubleCreate = (index: number) => {
    if (doubleCreateBehaviour === 'error') {
      throw doubleCreateError(history, index)
    }
  }
  history.forEach((entry, index) => {
    if (!entry.needsIntegration) {
      applyEntry(current, entry, index, pkFields)
    }
    applyEntry(target, entry, index, pkFields, { onDoubleCreate })
  })

  const where = getPkWhere(storageRegistry, collection, pk)
  if (!current.exists && !target.exists) {
    return
  }
  if (current.exists && !target.exists) {
    operations.push({ operation: 'deleteObjects', collection, where })
    return
  }
  if (!current.exists) {
    operations.push({ operation: 'createObject', collection, args: objectArgs(target, where) })
    return
  }
  if (target.lifeStart > current.lifeStart) {
    // Deleted and created again since the stored version: replace it.
    operations.push({ operation: 'deleteObjects', collection, where })
    operations.push({ operation: 'createObject', collection, args: objectArgs(target, where) })
    return
  }
  const updates: Record<string, unknown> = {}
  let changed = false
  for (const [field, winner] of target.fields) {
    if (current.fields.get(field)?.index !== winner.index) {
      updates[field] = winner.value
      changed = true
    }
  }
  if (changed) {
    operations.push({ operation: 'updateObjects', collection, where, updates })
  }
}

function objectArgs(state: ObjectState, where: Record<string, unknown>): Record<string, unknown> {
  const args: Record<string, unknown> = {}
  for (const [field, winner] of state.fields) {
    args[field] = winner.value
  }
  return { ...args, ...where }
}

function doubleCreateError(history: ClientSyncLogEntry[], index: number): ReconciliationError {
  const second = history[index]!
  const first = history.slice(0, index).reverse().find((entry) => entry.operation === 'create')
  const describe = (entry: ClientSyncLogEntry | undefined) =>
    entry ? `device ${JSON.stringify(entry.deviceId)} at createdOn ${entry.createdOn}` : 'an earlier entry'
  return new ReconciliationError(
    'DOUBLE_CREATE',
    `collection '${second.collection}', pk ${JSON.stringify(second.pk)} was created twice without a delete in between ` +
      `(by ${describe(first)} and by ${describe(second)}). Give new objects globally unique pks ` +
      "(use @storex-sync/custom-pk, and do not create objects with fixed pks on several devices), or reconcile with doubleCreateBehaviour: 'merge' to treat the later create as a modification.",
  )
}
