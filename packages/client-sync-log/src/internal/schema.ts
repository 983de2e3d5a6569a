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

/** `needsIntegration` of a received entry waiting for the reconciler. */
export const NEEDS_INTEGRATION = 1
/** `needsIntegration` of a waiting entry that doSync set aside for this sync (its reconciler failed). */
export const DEFERRED_INTEGRATION = 2

const clientSyncLogEntryFields: CollectionDefinition['fields'] = {
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
}

/** The first stored version (kept as history so databases made with it are upgraded, not recreated). */
const clientSyncLogEntryCollectionV1: CollectionDefinition = {
  version: new Date('2025-01-01'),
  fields: clientSyncLogEntryFields,
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

/**
 * The current version adds two compound indices, so the log's paginated
 * reads (`unshared = 1` and `needsIntegration = 1`, ordered by createdOn,
 * limited) read one index range of exactly the rows they return instead of
 * every pending row (see the README, "Queries and indices").
 */
export const clientSyncLogEntryCollection: CollectionDefinition = {
  version: new Date('2026-01-01'),
  fields: clientSyncLogEntryFields,
  indices: [
    { field: 'id', pk: true },
    { field: 'createdOn' },
    { field: 'objectKey' },
    { field: 'unshared' },
    { field: 'needsIntegration' },
    { field: ['unshared', 'createdOn'] },
    { field: ['needsIntegration', 'createdOn'] },
  ],
}
// storex-pattern-modules appends the definition to its `history` array on every
// registration: a getter hands out a fresh array each time.
Object.defineProperty(clientSyncLogEntryCollection, 'history', {
  get: () => [clientSyncLogEntryCollectionV1],
  enumerable: true,
})

export const CLIENT_SYNC_LOG_STATE_COLLECTION = 'clientSyncLogState'

/**
 * The device's sync state, a few rows read and written under the device's
 * cross-tab lock, in the same batch as the entries they describe:
 * - `clock`: `value` is the greatest createdOn in the log (own or received).
 *   Every StorageManager over the database (browser tabs, workers, processes
 *   on one SQLite file) reads it before issuing a value, so no two of them
 *   issue the same one;
 * - `device`: `data` is `{ deviceId, registered }`, the device's id, made on
 *   the device and registered with the shared log at the first sync;
 * - `baseline-counter`: `value` is the last createdOn given to an entry that
 *   records an object that existed before sync (1, 2, 3, ...: they sort before
 *   every real write);
 * - `baseline:<collection>`: present once the collection's existing objects
 *   were recorded; `value` is when (ms).
 */
export interface StoredStateRow {
  id: string
  value?: number | null
  data?: unknown
}

export const clientSyncLogStateCollection: CollectionDefinition = {
  version: new Date('2026-11-30'),
  fields: {
    id: { type: 'string' },
    value: { type: 'float', optional: true },
    data: { type: 'json', optional: true },
  },
  indices: [{ field: 'id', pk: true }],
}
