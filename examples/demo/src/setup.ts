import 'fake-indexeddb/auto'
// storex-backend-dexie makes a batch one IndexedDB transaction only where
// `navigator` exists (browsers, Node >= 21); Node 20 needs one to be atomic.
if (typeof (globalThis as { navigator?: unknown }).navigator === 'undefined') {
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'node' }, configurable: true })
}
import * as storex from '@worldbrain/storex'
import type { CollectionDefinitionMap } from '@worldbrain/storex'
import { DexieStorageBackend } from '@worldbrain/storex-backend-dexie'
import { TypeORMStorageBackend } from '@worldbrain/storex-backend-typeorm'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import type { SharedSyncLog, UserId } from '@storex-sync/shared-sync-log-core'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'
import { doSync, type SyncOptions } from '@storex-sync/sync-orchestrator'

// @worldbrain/storex is CommonJS: this import works from ESM and CJS alike.
const StorageManager = ((storex as any).default?.default ?? (storex as any).default) as typeof storex.default
type StorageManager = storex.default

let databases = 0

function createBackend(kind: 'indexeddb' | 'sqlite', name: string) {
  databases += 1
  if (kind === 'indexeddb') {
    return new DexieStorageBackend({
      dbName: `${name}-${databases}`,
      idbImplementation: { factory: indexedDB, range: IDBKeyRange as any },
    })
  }
  return new TypeORMStorageBackend({
    connectionOptions: { type: 'better-sqlite3', database: ':memory:', name: `${name}-${databases}` } as any,
    // custom-pk gives string ids, so the pk columns are text.
    autoPkOptions: { type: 'varchar' } as any,
  })
}

async function open(storageManager: StorageManager) {
  await storageManager.finishInitialization()
  const backend = storageManager.backend as any
  if (typeof backend.migrate === 'function') {
    await backend.migrate()
  }
}

/** A shared sync log on its own SQLite database, as a server would keep it. */
export async function createSharedSyncLog(): Promise<SharedSyncLog> {
  const storageManager = new StorageManager({ backend: createBackend('sqlite', 'shared-log') as any })
  const sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'string' })
  registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
  await open(storageManager)
  return sharedSyncLog
}

export interface Device {
  name: string
  storageManager: StorageManager
  sync(options?: Partial<SyncOptions>): ReturnType<typeof doSync>
  /** The synced collections' contents, sorted, for comparing devices. */
  contents(): Promise<Record<string, unknown[]>>
}

/** One device or shop: its own database, custom pks, sync logging, and doSync. */
export async function createDevice(options: {
  name: string
  kind: 'indexeddb' | 'sqlite'
  collections: CollectionDefinitionMap
  syncedCollections: string[]
  sharedSyncLog: SharedSyncLog
  userId: UserId
}): Promise<Device> {
  const storageManager = new StorageManager({ backend: createBackend(options.kind, options.name) as any })
  storageManager.registry.registerCollections(options.collections)
  const clientSyncLog = new ClientSyncLogStorage({ storageManager })
  registerModuleMapCollections(storageManager.registry, { clientSyncLog })
  await open(storageManager)

  const pkMiddleware = new CustomAutoPkMiddleware()
  pkMiddleware.setup({ storageRegistry: storageManager.registry, collections: options.syncedCollections })
  const logging = new SyncLoggingMiddleware({
    storageManager,
    clientSyncLog,
    includeCollections: options.syncedCollections,
  })
  const deviceId = await options.sharedSyncLog.createDeviceId({ userId: options.userId })
  logging.enable(deviceId)
  storageManager.setMiddleware([pkMiddleware, logging])

  return {
    name: options.name,
    storageManager,
    sync: (extra = {}) =>
      doSync({
        storageManager,
        clientSyncLog,
        sharedSyncLog: options.sharedSyncLog,
        reconciler: reconcileSyncLog,
        userId: options.userId,
        deviceId,
        ...extra,
      }),
    async contents() {
      const contents: Record<string, unknown[]> = {}
      for (const collection of options.syncedCollections) {
        const objects: Array<Record<string, unknown>> = await storageManager.collection(collection).findObjects({})
        contents[collection] = objects
          .map((object) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null && value !== undefined).sort(([a], [b]) => a.localeCompare(b))))
          .sort((a, b) => String(a['id']).localeCompare(String(b['id'])))
      }
      return contents
    },
  }
}
