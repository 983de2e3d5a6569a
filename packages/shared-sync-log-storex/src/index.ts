export {
  SharedSyncLogStorage,
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  type SharedSyncLogAppend,
  type SharedSyncLogDeviceInfoRecord,
  type SharedSyncLogEntryRecord,
  type SharedSyncLogStorageOptions,
} from './storage'
