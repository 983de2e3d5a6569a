import type { StorageRegistry } from '@worldbrain/storex'
import { CLIENT_SYNC_LOG_COLLECTION, type ClientSyncLogStorage, type DeviceId } from '@storex-sync/client-sync-log'
import { SyncLoggingError } from '../errors'

/** The log's own collections (entries, quarantines, state) never sync as data. */
export function checkNotLogCollections(includeCollections: Set<string>, clientSyncLog: ClientSyncLogStorage): void {
  const logCollections = Object.keys(clientSyncLog.getConfig?.().collections ?? { [CLIENT_SYNC_LOG_COLLECTION]: null })
  const ownCollection = logCollections.find((name) => includeCollections.has(name))
  if (ownCollection) {
    throw new SyncLoggingError(
      'UNKNOWN_COLLECTION',
      `includeCollections names '${ownCollection}', a collection of the client sync log itself; list only your app's synced collections.`,
    )
  }
}

/** The registry must hold the log's collection and every included one (checked at first use: apps register late). */
export function checkRegistry(storageRegistry: StorageRegistry, includeCollections: Set<string>): void {
  const collections = storageRegistry.collections ?? {}
  if (!collections[CLIENT_SYNC_LOG_COLLECTION]) {
    throw new SyncLoggingError(
      'CLIENT_SYNC_LOG_NOT_REGISTERED',
      `the '${CLIENT_SYNC_LOG_COLLECTION}' collection is not registered. Call registerModuleMapCollections(storageManager.registry, { clientSyncLog }) ` +
        `before storageManager.finishInitialization().`,
    )
  }
  const unknown = [...includeCollections].filter((name) => !collections[name])
  if (unknown.length) {
    throw new SyncLoggingError(
      'UNKNOWN_COLLECTION',
      `includeCollections names collections the storage registry does not have: ${unknown.join(', ')}. ` +
        `Register them before finishInitialization(), or remove them from includeCollections.`,
    )
  }
}

/** enable(deviceId) takes what the shared log hands out: a non-empty string or a finite number. */
export function checkDeviceIdArgument(deviceId: unknown): void {
  if (!((typeof deviceId === 'string' && deviceId !== '') || (typeof deviceId === 'number' && Number.isFinite(deviceId)))) {
    throw new SyncLoggingError(
      'DEVICE_ID_MISSING',
      `enable(deviceId) needs a non-empty string or a number, got ${JSON.stringify(deviceId)}. Call enable() without an argument to use the id the client sync log keeps.`,
    )
  }
}

/** The device id to log a write with: the one given to enable(), or 'stored' after enable() without one. */
export function requireDeviceId(deviceId: DeviceId | 'stored' | null, operationName: string, collection: string): DeviceId | 'stored' {
  if (deviceId === null || deviceId === undefined) {
    throw new SyncLoggingError(
      'DEVICE_ID_MISSING',
      `${operationName} on '${collection}' must be logged for sync, but logging is not enabled. Call logging.enable() ` +
        `(the device id is then kept in the client sync log and registered at the first sync), or logging.enable(deviceId) ` +
        `with an id from sharedSyncLog.createDeviceId() (or logging.disable() to write without logging).`,
    )
  }
  return deviceId
}
