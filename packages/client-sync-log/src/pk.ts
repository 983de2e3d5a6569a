import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import stringify from 'safe-stable-stringify'
import type { ObjectPk } from './types'

/**
 * The pk fields of a collection, in order. A single-field pk is stored in log
 * entries as the bare value; a compound pk as an array of values in this order.
 */
export function getPkFields(storageRegistry: StorageRegistry, collection: string): string[] {
  const definition = storageRegistry.collections[collection]
  if (!definition) {
    return []
  }
  const pkIndex = definition.pkIndex ?? 'id'
  const fields = Array.isArray(pkIndex) ? pkIndex : [pkIndex]
  return fields.map((field) => (typeof field === 'string' ? field : (field as { relationship: string }).relationship))
}

/** The pk of an object as log entries carry it. */
export function getObjectPk(storageRegistry: StorageRegistry, collection: string, object: Record<string, unknown>): ObjectPk {
  const fields = getPkFields(storageRegistry, collection)
  return fields.length === 1 ? object[fields[0]!] : fields.map((field) => object[field])
}

/** The `where` that selects exactly the object with this pk. */
export function getPkWhere(storageRegistry: StorageRegistry, collection: string, pk: ObjectPk): Record<string, unknown> {
  const fields = getPkFields(storageRegistry, collection)
  if (fields.length === 1) {
    return { [fields[0]!]: pk }
  }
  const values = pk as unknown[]
  return Object.fromEntries(fields.map((field, index) => [field, values[index]]))
}

/** The object's fields without its pk fields. */
export function withoutPkFields(
  storageRegistry: StorageRegistry,
  collection: string,
  object: Record<string, unknown>,
): Record<string, unknown> {
  const pkFields = new Set(getPkFields(storageRegistry, collection))
  return Object.fromEntries(Object.entries(object).filter(([field]) => !pkFields.has(field)))
}

/**
 * A string that identifies one object across devices: equal pks give equal
 * keys. Plain JSON text (no NUL bytes: PostgreSQL text columns reject them),
 * so it can be stored and indexed on every backend.
 */
export function getObjectKey(collection: string, pk: ObjectPk): string {
  // Same text as the stable stringify for string and number pks, much faster (compound pks need the stable key order).
  if (typeof collection === 'string' && (typeof pk === 'string' || typeof pk === 'number')) {
    return JSON.stringify([collection, pk])
  }
  return stringify([collection, pk ?? null])!
}

export type { OperationBatch }
