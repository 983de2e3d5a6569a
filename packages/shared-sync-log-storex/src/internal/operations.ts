import type { StorageModuleConfig } from '@worldbrain/storex-pattern-modules'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION as DEVICES,
  SHARED_SYNC_LOG_ENTRY_COLLECTION as ENTRIES,
  SHARED_SYNC_LOG_USER_COLLECTION as USERS,
} from '../schema'

export const ASCENDING: Array<[string, 'asc' | 'desc']> = [['sequence', 'asc']]
export const DESCENDING: Array<[string, 'asc' | 'desc']> = [['sequence', 'desc']]

/** The module's named operations (what `operationExecuter` sees, and what the round-trip tests count). */
export const sharedSyncLogOperations: NonNullable<StorageModuleConfig['operations']> = {
  createDeviceInfo: {
    operation: 'createObject',
    collection: DEVICES,
    args: '$object' as never,
  },
  findDeviceInfo: {
    operation: 'findObject',
    collection: DEVICES,
    args: { id: '$deviceId', userId: '$userKey' },
  },
  findUserDevices: {
    operation: 'findObjects',
    collection: DEVICES,
    args: { userId: '$userKey' },
  },
  updateDeviceActivity: {
    operation: 'updateObjects',
    collection: DEVICES,
    args: [{ id: '$deviceId' }, { activeAt: '$activeAt' }] as never,
  },
  findUser: {
    operation: 'findObject',
    collection: USERS,
    args: { id: '$userKey' },
  },
  findEntriesByKeys: {
    operation: 'findObjects',
    collection: ENTRIES,
    args: [{ userId: '$userKey', entryKey: { $in: '$keys' } }] as never,
  },
  findLastEntry: {
    operation: 'findObjects',
    collection: ENTRIES,
    args: [{ userId: '$userKey' }, { order: '$order', limit: 1 }] as never,
  },
  findOwnEntriesAfter: {
    operation: 'findObjects',
    collection: ENTRIES,
    args: [{ userId: '$userKey', deviceId: '$deviceId', sequence: { $gt: '$after' } }, { order: '$order', limit: '$limit' }] as never,
  },
  findOtherEntriesAfter: {
    operation: 'findObjects',
    collection: ENTRIES,
    args: [
      { userId: '$userKey', deviceId: { $ne: '$deviceId' }, sequence: { $gt: '$after' } },
      { order: '$order', limit: '$limit' },
    ] as never,
  },
  countOwnEntriesAfter: {
    operation: 'countObjects',
    collection: ENTRIES,
    args: { userId: '$userKey', deviceId: '$deviceId', sequence: { $gt: '$after' } },
  },
  countUserEntries: {
    operation: 'countObjects',
    collection: ENTRIES,
    args: { userId: '$userKey' },
  },
  executeBatch: {
    operation: 'executeBatch',
    args: ['$batch'] as never,
  },
}
