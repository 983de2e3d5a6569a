import type { CollectionDefinition } from '@worldbrain/storex'
import type { DeviceId, SharedSyncLogEntryInput, UserId } from '@storex-sync/shared-sync-log-core'

export const SHARED_SYNC_LOG_ENTRY_COLLECTION = 'sharedSyncLogEntry'
export const SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION = 'sharedSyncLogDeviceInfo'
export const SHARED_SYNC_LOG_USER_COLLECTION = 'sharedSyncLogUser'

/** A row of `sharedSyncLogEntry`, as stored. */
export interface SharedSyncLogEntryRecord {
  id?: number | string
  /** The user id in its string form. */
  userId: string
  deviceId: DeviceId
  createdOn: number
  sharedOn: number
  /** Position in the user's log: 1, 2, 3, ... without gaps. */
  sequence: number
  data: string
  /** `{ value }` when the batch had `extraSentInfo`, so that `null` survives; else absent. */
  extraSentInfo?: { value: unknown } | null
  /** `entryIdentityKey(userId, deviceId, createdOn)`: what makes a re-write a duplicate. */
  entryKey: string
}

/** A row of `sharedSyncLogDeviceInfo`, as stored. */
export interface SharedSyncLogDeviceInfoRecord {
  id: DeviceId
  userId: string
  sharedUntil?: number | null
  /** Sequence of the last entry this device has seen (its cursor); 0 before the first. */
  cursor: number
  /**
   * Wall-clock ms of the device's creation, last write or last read: what
   * retirement looks at. Absent on rows made before the 2026-12-01 version
   * (then `sharedUntil`, or 0, stands in for it).
   */
  activeAt?: number | null
}

/** A row of `sharedSyncLogUser`: made by the first compaction of a user. */
export interface SharedSyncLogUserRecord {
  /** The user id in its string form. */
  id: string
  /** Entries up to this sequence were compacted away. */
  compactedUntil: number
}

/** What `appendEntries()` gets: a validated batch of a known device. */
export interface SharedSyncLogAppend {
  /** The user id in its string form, as stored. */
  userKey: string
  userId: UserId
  deviceId: DeviceId
  sharedOn: number
  /** Whether the batch carries `extraSentInfo` (`undefined` means it does not). */
  hasExtraSentInfo: boolean
  extraSentInfo: unknown
  entries: SharedSyncLogEntryInput[]
}

const FIRST_VERSION = new Date('2025-01-01')
/**
 * The version that added compaction: `activeAt` on devices, the user
 * collection, the (deviceId, sequence) index. Later than every version of
 * client-sync-log (2026-11-30), so that in a database holding both, IndexedDB
 * gets a new schema version instead of a changed old one; and not in the
 * future, since registerModuleCollections() leaves out versions after `new Date()`.
 */
const COMPACTION_VERSION = new Date('2026-11-30T01:00:00.000Z')

export function sharedSyncLogCollections(autoPkType: 'int' | 'string'): Record<string, CollectionDefinition> {
  const pkType = autoPkType === 'int' ? 'int' : 'string'
  const deviceFields: CollectionDefinition['fields'] = {
    userId: { type: 'string' },
    sharedUntil: { type: 'float', optional: true },
    cursor: { type: 'float' },
  }
  const deviceV1: CollectionDefinition = { version: FIRST_VERSION, fields: deviceFields, indices: [{ field: 'userId' }] }
  const device: CollectionDefinition = {
    version: COMPACTION_VERSION,
    fields: { ...deviceFields, activeAt: { type: 'float', optional: true } },
    indices: [{ field: 'userId' }],
  }
  // storex-pattern-modules appends the registered definition to `history` on
  // every registration: a getter hands out a fresh array each time, so the
  // first version stays the only earlier one (databases made with it are upgraded).
  Object.defineProperty(device, 'history', { get: () => [deviceV1], enumerable: true })
  const entryFields: CollectionDefinition['fields'] = {
    userId: { type: 'string' },
    deviceId: { type: pkType },
    createdOn: { type: 'float' },
    sharedOn: { type: 'float' },
    sequence: { type: 'float' },
    data: { type: 'text' },
    extraSentInfo: { type: 'json', optional: true },
    entryKey: { type: 'string' },
  }
  // (userId, sequence): a read's page (userId = ?, sequence > ?, ORDER BY sequence, LIMIT)
  // and a compaction's delete (userId = ?, sequence <= ?) without scanning all of the user's entries.
  const entryIndices: CollectionDefinition['indices'] = [{ field: 'userId' }, { field: 'sequence' }, { field: 'entryKey' }, { field: ['userId', 'sequence'] }]
  const entryV1: CollectionDefinition = { version: FIRST_VERSION, fields: entryFields, indices: entryIndices }
  const entry: CollectionDefinition = {
    version: COMPACTION_VERSION,
    fields: entryFields,
    // (deviceId, sequence): a device's own entries after its cursor (each read skips them, and
    // `remaining` subtracts them) in one index range, not a scan of everything after the cursor.
    indices: [...entryIndices, { field: ['deviceId', 'sequence'] }],
  }
  Object.defineProperty(entry, 'history', { get: () => [entryV1], enumerable: true })
  return {
    [SHARED_SYNC_LOG_ENTRY_COLLECTION]: entry,
    [SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION]: device,
    [SHARED_SYNC_LOG_USER_COLLECTION]: {
      version: COMPACTION_VERSION,
      fields: {
        id: { type: 'string' },
        compactedUntil: { type: 'float' },
      },
      indices: [{ field: 'id', pk: true }],
    },
  }
}
