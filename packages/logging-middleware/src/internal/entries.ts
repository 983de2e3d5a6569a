import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { getObjectPk, getPkFields, withoutPkFields, type ObjectPk, type PendingLogEntry } from '@storex-sync/client-sync-log'
import { SyncLoggingError } from '../errors'

/** The create entry for a createObject step, which must carry the object's pk (the custom-pk middleware gives it). */
export function creationEntry(storageRegistry: StorageRegistry, step: OperationBatch[number]): PendingLogEntry {
  const args = ((step as { args?: Record<string, unknown> }).args ?? {}) as Record<string, unknown>
  if (step.replace?.length) {
    throw new SyncLoggingError(
      'UNRESOLVED_PLACEHOLDER',
      `a '${step.collection}' object is created with fields (${step.replace.map((r) => r.path).join(', ')}) that are only known ` +
        `after the batch runs, so its log entry would be incomplete. Give the parent object its pk up front (use the custom-pk middleware).`,
    )
  }
  const pkFields = getPkFields(storageRegistry, step.collection)
  const missing = pkFields.filter((field) => args[field] === undefined || args[field] === null)
  if (missing.length) {
    throw new SyncLoggingError(
      'PK_MISSING',
      `a '${step.collection}' object is created without its pk (${missing.join(', ')}), so its changes cannot be logged for sync. ` +
        `Put the custom-pk middleware before the logging middleware (setMiddleware([pkMiddleware, logging])) or give the pk yourself.`,
    )
  }
  return {
    operation: 'create',
    collection: step.collection,
    pk: getObjectPk(storageRegistry, step.collection, args),
    value: withoutPkFields(storageRegistry, step.collection, args),
  }
}

/** The modify entry of one object an update reaches (`updates`), or its delete entry (`null`). */
export function changeEntry(
  storageRegistry: StorageRegistry,
  collection: string,
  pk: ObjectPk,
  updates: Record<string, unknown> | null,
): PendingLogEntry {
  if (updates) {
    return { operation: 'modify', collection, pk, value: withoutPkFields(storageRegistry, collection, updates) }
  }
  return { operation: 'delete', collection, pk }
}
