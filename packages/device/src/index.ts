export { createSyncedDevice, type SyncedDevice, type SyncedDeviceOptions, type DeviceStorageManager } from './device'
export { SyncedDeviceError, DEVICE_PACKAGE } from './errors'
export type { SyncedDeviceErrorCode } from './errors'
export { StorageManager, type StorexStorageManager } from './storex'
