export { SharedSyncLogStorage, type SharedSyncLogStorageOptions } from './storage'
export {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SHARED_SYNC_LOG_USER_COLLECTION,
  type SharedSyncLogAppend,
  type SharedSyncLogDeviceInfoRecord,
  type SharedSyncLogEntryRecord,
  type SharedSyncLogUserRecord,
} from './schema'
