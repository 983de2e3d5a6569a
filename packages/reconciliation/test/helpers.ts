import type { ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import type { OperationBatch } from '@worldbrain/storex'
import type { StorageManagerInstance } from '@storex-sync/test-backends'

export const version = new Date('2020-01-01')

export const collections = {
  item: {
    version,
    fields: { title: { type: 'string' }, count: { type: 'int' }, note: { type: 'string', optional: true } },
  },
  product: {
    version,
    fields: { name: { type: 'string' }, price: { type: 'float' } },
  },
} as const

export function registerCollections(storageManager: StorageManagerInstance) {
  storageManager.registry.registerCollections(collections as any)
}

export type Snapshot = Record<string, Record<string, Record<string, unknown>>>

let clockCounter = 0

/** A log entry with test defaults: collection 'item', integrated, shared. */
export function entry(
  operation: 'create' | 'modify' | 'delete',
  options: {
    pk?: unknown
    collection?: string
    deviceId?: string | number
    createdOn?: number
    needsIntegration?: boolean
    value?: Record<string, unknown>
  },
): ClientSyncLogEntry {
  const base = {
    collection: options.collection ?? 'item',
    pk: options.pk ?? 'item-1',
    deviceId: options.deviceId ?? 'device-a',
    createdOn: options.createdOn ?? ++clockCounter,
    sharedOn: 1,
    needsIntegration: options.needsIntegration ?? false,
  }
  if (operation === 'delete') {
    return { ...base, operation }
  }
  return { ...base, operation, value: options.value ?? {} }
}

/** Plain reference ordering, written independently of compareEntries: clock, then deviceId. */
function referenceOrder(a: ClientSyncLogEntry, b: ClientSyncLogEntry): number {
  if (a.createdOn !== b.createdOn) {
    return a.createdOn - b.createdOn
  }
  const left = String(a.deviceId)
  const right = String(b.deviceId)
  return left < right ? -1 : left > right ? 1 : 0
}

/**
 * The simplest model of the rules: replay every entry in order; create makes
 * the object (or, if it exists, overwrites its fields), modify changes fields
 * of an existing object, delete removes it.
 */
export function referenceState(entries: ClientSyncLogEntry[]): Snapshot {
  const state: Snapshot = {}
  for (const current of [...entries].sort(referenceOrder)) {
    const objects = (state[current.collection] ??= {})
    const key = String(current.pk)
    if (current.operation === 'delete') {
      delete objects[key]
    } else if (current.operation === 'create') {
      objects[key] = { ...(objects[key] ?? {}), ...current.value, id: current.pk }
    } else if (objects[key]) {
      objects[key] = { ...objects[key], ...current.value }
    }
  }
  for (const name of Object.keys(state)) {
    if (Object.keys(state[name]!).length === 0) {
      delete state[name]
    }
  }
  return state
}

export async function clearDatabase(storageManager: StorageManagerInstance) {
  for (const name of Object.keys(collections)) {
    await storageManager.collection(name).deleteObjects({})
  }
}

export async function writeSnapshot(storageManager: StorageManagerInstance, snapshot: Snapshot) {
  for (const [name, objects] of Object.entries(snapshot)) {
    for (const object of Object.values(objects)) {
      await storageManager.collection(name).createObject({ ...object })
    }
  }
}

export async function readSnapshot(storageManager: StorageManagerInstance): Promise<Snapshot> {
  const snapshot: Snapshot = {}
  for (const name of Object.keys(collections)) {
    const objects = await storageManager.collection(name).findObjects({})
    for (const object of objects as Array<Record<string, unknown>>) {
      // Optional fields that were never set read back as null: leave them out.
      const present = Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null && value !== undefined))
      ;(snapshot[name] ??= {})[String(object.id)] = present
    }
  }
  return snapshot
}

export async function applyBatch(storageManager: StorageManagerInstance, operations: OperationBatch) {
  if (operations.length > 0) {
    await storageManager.backend.operation('executeBatch', operations)
  }
}

/**
 * Applies a batch to an in-memory snapshot, strictly: creating an existing
 * object, or updating/deleting a missing one, throws (a reconciler that does
 * that assumed the wrong database state).
 */
export function applyBatchInMemory(snapshot: Snapshot, operations: OperationBatch): Snapshot {
  const next: Snapshot = JSON.parse(JSON.stringify(snapshot))
  for (const operation of operations) {
    const objects = (next[operation.collection] ??= {})
    if (operation.operation === 'createObject') {
      const key = String(operation.args.id)
      if (objects[key]) {
        throw new Error(`createObject of existing ${operation.collection} ${key}`)
      }
      objects[key] = { ...operation.args }
    } else if (operation.operation === 'updateObjects') {
      const key = String(operation.where.id)
      if (!objects[key]) {
        throw new Error(`updateObjects of missing ${operation.collection} ${key}`)
      }
      objects[key] = { ...objects[key], ...operation.updates }
    } else if (operation.operation === 'deleteObjects') {
      const key = String(operation.where.id)
      if (!objects[key]) {
        throw new Error(`deleteObjects of missing ${operation.collection} ${key}`)
      }
      delete objects[key]
    }
    if (Object.keys(objects).length === 0) {
      delete next[operation.collection]
    }
  }
  return next
}

/** Marks the first `integrated` entries as integrated and the rest as received. */
export function splitAt(entries: ClientSyncLogEntry[], integrated: number): ClientSyncLogEntry[] {
  return entries.map((current, index) => ({ ...current, needsIntegration: index >= integrated }))
}
