import type { StorageModuleConfig } from '@worldbrain/storex-pattern-modules'

export const REPLICA_OBJECT_COLLECTION = 'syncReplicaObject'
export const REPLICA_USER_COLLECTION = 'syncReplicaUser'
export const REPLICA_QUARANTINE_COLLECTION = 'syncReplicaQuarantine'

/** An entry as the replica keeps it: what the shared log delivered, data still serialized. */
export interface StoredReplicaEntry {
  deviceId: string | number
  createdOn: number
  sharedOn: number
  data: string
}

/** One object of one user: its compacted history and the state the reconciler makes of it. */
export interface ReplicaObjectRecord {
  /** JSON of the fields that make the row unique, so every backend gets the same string pk. */
  id?: string
  userId: string
  /** `getObjectKey(collection, pk)` of @storex-sync/client-sync-log: the order of snapshot pages. */
  objectKey: string
  collection: string
  pk: unknown
  entries: StoredReplicaEntry[]
  /** The object's fields (without its pk), or null for a tombstone. */
  object: Record<string, unknown> | null
  exists: boolean
  bytes: number
}

export interface ReplicaUserRecord {
  /** JSON of the fields that make the row unique, so every backend gets the same string pk. */
  id?: string
  userId: string
  /** The replica's own device in the user's log. */
  deviceId: string | number
  /** The log position everything up to which is integrated: a snapshot's memo. */
  memo: unknown
  objects: number
  liveObjects: number
  entries: number
  bytes: number
}

export interface ReplicaQuarantineRecord {
  /** JSON of the fields that make the row unique, so every backend gets the same string pk. */
  id?: string
  userId: string
  entryKey: string
  deviceId: string | number
  createdOn: number
  sharedOn: number
  data: string
  reason: string
  message: string
}

const VERSION = new Date('2026-11-30')

export function replicaModuleConfig(): StorageModuleConfig {
  return {
    collections: {
      [REPLICA_OBJECT_COLLECTION]: {
        version: VERSION,
        fields: {
          id: { type: 'string' },
          userId: { type: 'string' },
          objectKey: { type: 'string' },
          collection: { type: 'string' },
          pk: { type: 'json' },
          entries: { type: 'json' },
          object: { type: 'json', optional: true },
          exists: { type: 'boolean' },
          bytes: { type: 'int' },
        },
        // (userId, objectKey): a snapshot page is `userId = ? AND objectKey > ? ORDER BY objectKey LIMIT ?`.
        pkIndex: 'id',
        indices: [{ field: 'userId' }, { field: 'objectKey' }, { field: ['userId', 'objectKey'] }],
      },
      [REPLICA_USER_COLLECTION]: {
        version: VERSION,
        fields: {
          id: { type: 'string' },
          userId: { type: 'string' },
          deviceId: { type: 'json' },
          memo: { type: 'json' },
          objects: { type: 'int' },
          liveObjects: { type: 'int' },
          entries: { type: 'int' },
          bytes: { type: 'int' },
        },
        pkIndex: 'id',
        indices: [{ field: 'userId' }],
      },
      [REPLICA_QUARANTINE_COLLECTION]: {
        version: VERSION,
        fields: {
          id: { type: 'string' },
          userId: { type: 'string' },
          entryKey: { type: 'string' },
          deviceId: { type: 'json' },
          createdOn: { type: 'float' },
          sharedOn: { type: 'float' },
          data: { type: 'text' },
          reason: { type: 'string' },
          message: { type: 'text' },
        },
        pkIndex: 'id',
        indices: [{ field: 'userId' }, { field: 'entryKey' }],
      },
    },
    operations: {
      findUser: { operation: 'findObject', collection: REPLICA_USER_COLLECTION, args: { userId: '$userId' } },
      findUsers: { operation: 'findObjects', collection: REPLICA_USER_COLLECTION, args: {} },
      createUser: { operation: 'createObject', collection: REPLICA_USER_COLLECTION, args: '$object' as never },
      findObjectsByKeys: {
        operation: 'findObjects',
        collection: REPLICA_OBJECT_COLLECTION,
        args: [{ userId: '$userId', objectKey: { $in: '$keys' } }] as never,
      },
      findObjectsAfter: {
        operation: 'findObjects',
        collection: REPLICA_OBJECT_COLLECTION,
        args: [{ userId: '$userId', objectKey: { $gt: '$after' } }, { order: [['objectKey', 'asc']], limit: '$limit' }] as never,
      },
      findLiveObjectsAfter: {
        operation: 'findObjects',
        collection: REPLICA_OBJECT_COLLECTION,
        args: [{ userId: '$userId', exists: true, objectKey: { $gt: '$after' } }, { order: [['objectKey', 'asc']], limit: '$limit' }] as never,
      },
      findLiveObjectsOfCollectionAfter: {
        operation: 'findObjects',
        collection: REPLICA_OBJECT_COLLECTION,
        args: [
          { userId: '$userId', collection: '$collection', exists: true, objectKey: { $gt: '$after' } },
          { order: [['objectKey', 'asc']], limit: '$limit' },
        ] as never,
      },
      findQuarantineByKeys: {
        operation: 'findObjects',
        collection: REPLICA_QUARANTINE_COLLECTION,
        args: [{ userId: '$userId', entryKey: { $in: '$keys' } }] as never,
      },
      findQuarantine: { operation: 'findObjects', collection: REPLICA_QUARANTINE_COLLECTION, args: { userId: '$userId' } },
      executeBatch: { operation: 'executeBatch', args: ['$batch'] as never },
    },
    accessRules: {
      ownership: {
        [REPLICA_OBJECT_COLLECTION]: { field: 'userId', access: ['list', 'read'] },
        [REPLICA_USER_COLLECTION]: { field: 'userId', access: ['read'] },
      },
    },
  }
}
