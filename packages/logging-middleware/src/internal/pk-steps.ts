import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { getObjectPk, getPkFields, getPkWhere, type ObjectPk } from '@storex-sync/client-sync-log'
import type { StorageMiddlewareContext } from '@storex-sync/storex-glue'

/*
 * An update or delete by `where` is logged per object: the middleware finds
 * the objects the where selects and rewrites the write as steps by their
 * pks, so the batch changes exactly the objects it logs.
 */

/** Pks per `$in` step: well under SQLite's bound-parameter limit. */
const IN_CHUNK = 500

/** The pk a where selects, when the where is exactly the pk fields with plain values; else null. */
export function exactPk(storageRegistry: StorageRegistry, collection: string, where: Record<string, unknown>): { pk: ObjectPk } | null {
  const pkFields = getPkFields(storageRegistry, collection)
  const keys = Object.keys(where ?? {})
  const plain = (value: unknown) => value !== undefined && value !== null && (typeof value !== 'object' || value instanceof Date)
  if (keys.length !== pkFields.length || !pkFields.every((field) => keys.includes(field) && plain(where[field]))) {
    return null
  }
  return { pk: getObjectPk(storageRegistry, collection, where) }
}

/** The pks of the objects `where` selects, read below this middleware. */
export async function findAffectedPks(
  storageRegistry: StorageRegistry,
  collection: string,
  where: Record<string, unknown>,
  next: StorageMiddlewareContext['next'],
): Promise<ObjectPk[]> {
  const objects = ((await next.process({ operation: ['findObjects', collection, where] })) ?? []) as Array<Record<string, unknown>>
  return objects.map((object) => getObjectPk(storageRegistry, collection, object))
}

/** The steps that apply `updates` to exactly these objects, or delete them (`updates` null). */
export function changeSteps(
  storageRegistry: StorageRegistry,
  collection: string,
  pks: ObjectPk[],
  updates: Record<string, unknown> | null,
): OperationBatch {
  return pkWheres(storageRegistry, collection, pks).map((where) =>
    updates ? { operation: 'updateObjects', collection, where, updates } : { operation: 'deleteObjects', collection, where },
  )
}

function pkWheres(storageRegistry: StorageRegistry, collection: string, pks: ObjectPk[]): Array<Record<string, unknown>> {
  const pkFields = getPkFields(storageRegistry, collection)
  const [pkField] = pkFields
  if (pkField !== undefined && pkFields.length === 1) {
    const wheres: Array<Record<string, unknown>> = []
    for (let index = 0; index < pks.length; index += IN_CHUNK) {
      const part = pks.slice(index, index + IN_CHUNK)
      wheres.push(part.length === 1 ? { [pkField]: part[0] } : { [pkField]: { $in: part } })
    }
    return wheres
  }
  return pks.map((pk) => getPkWhere(storageRegistry, collection, pk))
}
