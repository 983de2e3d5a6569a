import { StorageManager, createSyncedDevice } from '@storex-sync/device'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'

export const itemCollections = {
  item: {
    version: new Date('2024-01-01'),
    fields: {
      title: { type: 'string' as const },
      done: { type: 'boolean' as const },
    },
  },
}

export interface Item {
  id: string
  title: string
  done: boolean
}

/**
 * The app's database in this browser's IndexedDB, with sync logging, and a
 * ContinuousSync against the sync server at `url` (same origin here): one
 * createSyncedDevice call.
 */
export async function openSyncedStorage(options: { url: string; token: string; userId: string }) {
  // Few retries: ContinuousSync backs off by itself, and the status should show an error quickly.
  const sharedSyncLog = new HttpSharedSyncLog({
    url: options.url,
    token: options.token,
    retries: 1,
    timeoutMs: 5_000,
  })
  // No device id up front: the client sync log keeps one in the database (every tab shares it), made
  // on the first write, so the app works offline from its first start; the first sync that reaches
  // the server registers it.
  const device = await createSyncedDevice({
    storageManager: new StorageManager({
      backend: new DexieStorageBackend({ dbName: 'storex-sync-example', idbImplementation: { factory: indexedDB, range: IDBKeyRange as any } }),
    }),
    collections: itemCollections,
    sharedSyncLog,
    userId: options.userId,
    // Ids that start with the time they are made: items sort by creation on every device.
    pkGenerator: () => `${Date.now().toString(36).padStart(9, '0')}-${crypto.randomUUID()}`,
    continuousSync: {
      intervalMs: 5_000,
      debounceMs: 300,
      backoff: { initialMs: 1_000, maxMs: 10_000 },
      // A new device loads the user's data from the server's copy in pages of this many items (progress per page).
      snapshotPageSize: 100,
      // Live updates: the server tells this tab at once when another device wrote (the interval stays as
      // the fallback). The stream needs the registered device id, so it opens once the first sync made one.
      subscribeToChanges: (onChange) => {
        let close: (() => void) | null = null
        const timer = setInterval(() => {
          void device.clientSyncLog.getDeviceIdentity().then((identity) => {
            if (!identity?.registered || close) return
            clearInterval(timer)
            close = sharedSyncLog.subscribe({ userId: options.userId, deviceId: identity.deviceId, onChange })
          })
        }, 500)
        return () => {
          clearInterval(timer)
          close?.()
        }
      },
    },
  })
  const { storageManager, clientSyncLog, continuousSync } = device
  return { storageManager, clientSyncLog, continuousSync, sharedSyncLog, userId: options.userId }
}
