import type { CollectionDefinition } from '@worldbrain/storex'

export const CLIENT_SYNC_LOG_COLLECTION = 'clientSyncLogEntry'

/**
 * How one log entry is stored. Flags are `int` 0/1 (not `boolean`: TypeORM
 * maps booleans to tinyint, which PostgreSQL lacks, and IndexedDB cannot index
 * booleans); clock values are `float` (TypeORM's `int`/`timestamp` are 32-bit
 * on PostgreSQL). Nothing is ever queried by a json field or by null.
 */
export interface StoredLogEntry {
  /** Deterministic key of (deviceId, createdOn): re-inserting an entry is detectable. */
  id: string
  createdOn: number
  sharedOn?: number | null
  /** 1 while an own entry waits to be sent to the shared log, else 0. */
  unshared: number
  /** 1 while a received entry waits for the reconciler, 2 while it waits but doSync deferred it (its reconciler failed), else 0. */
  needsIntegration: number
  deviceId: unknown
  collection: string
  /** getObjectKey(collection, pk): all entries of a set of objects in one `$in` query. */
  objectKey: string
  pk: unknown
  operation: string
  value?: unknown
}

export const clientSyncLogEntryCollection: CollectionDefinition = {
  version: new Date('2025-01-01'),
  fields: {
    id: { type: 'string' },
    createdOn: { type: 'float' },
    sharedOn: { type: 'float', optional: true },
    unshared: { type: 'int' },
    needsIntegration: { type: 'int' },
    deviceId: { type: 'json' },
    collection: { type: 'string' },
    objectKey: { type: 'string' },
    pk: { type: 'json' },
    operation: { type: 'string' },
    value: { type: 'json', optional: true },
  },
  indices: [
    { field: 'id', pk: true },
    { field: 'createdOn' },
    { field: 'objectKey' },
    { field: 'unshared' },
    { field: 'needsIntegration' },
    // What the share and integrate pages ask for (flag = ?, ORDER BY createdOn, LIMIT):
    // without these, SQL databases sort every flagged entry for each page.
    { field: ['unshared', 'createdOn'] },
    { field: ['needsIntegration', 'createdOn'] },
  ],
}
