import 'fake-indexeddb/auto'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { StorageManager, type StorageManagerInstance } from '@storex-sync/storex-glue'
import type { CollectionDefinitionMap } from '@worldbrain/storex'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, staticTokenAuthenticator } from '@storex-sync/sync-server'
import { doSync, type SyncResult } from '@storex-sync/sync-orchestrator'

type StorageManager = StorageManagerInstance

/** The sync server on 127.0.0.1 (a free port), keeping the shared log in an in-memory SQLite database. */
export async function startSyncServer(users: string[]) {
  const tokens = Object.fromEntries(users.map((userId) => [randomBytes(16).toString('hex'), userId]))
  const app = await createSyncServer({ database: ':memory:', authenticate: staticTokenAuthenticator(tokens) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const tokenOf = (userId: string) => Object.keys(tokens).find((token) => tokens[token] === userId)!
  return { url, tokenOf, close: () => app.close() }
}

export interface Device {
  name: string
  storageManager: StorageManager
  sync(): Promise<SyncResult>
  /** Every synced object, sorted by id, without empty fields: for printing and comparing. */
  contents(): Promise<Record<string, Array<Record<string, unknown>>>>
  close(): Promise<void>
}

/**
 * One device: its own IndexedDB database (Dexie), random string ids, every
 * write to a synced collection logged, and doSync against the sync server.
 */
export async function createDevice(options: {
  name: string
  collections: CollectionDefinitionMap
  syncedCollections: string[]
  server: { url: string; tokenOf(userId: string): string }
  userId: string
  /** The device's wall clock (ms); the example moves it to tell the story. Default Date.now. */
  getNow?: () => number
}): Promise<Device> {
  const dbName = `example-${options.name}-${randomBytes(4).toString('hex')}`
  const backend = new DexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: IDBKeyRange as any } })
  const storageManager = new StorageManager({ backend: backend as any })
  storageManager.registry.registerCollections(options.collections)
  const clientSyncLog = new ClientSyncLogStorage({ storageManager })
  registerModuleMapCollections(storageManager.registry, { clientSyncLog })
  await storageManager.finishInitialization()

  const sharedSyncLog = new HttpSharedSyncLog({ url: options.server.url, token: options.server.tokenOf(options.userId) })
  // Created once per device; a real app stores it next to its data.
  const deviceId = await sharedSyncLog.createDeviceId({ userId: options.userId })

  const pkMiddleware = new CustomAutoPkMiddleware()
  pkMiddleware.setup({ storageRegistry: storageManager.registry, collections: options.syncedCollections })
  const logging = new SyncLoggingMiddleware({
    storageManager,
    clientSyncLog,
    includeCollections: options.syncedCollections,
    getNow: options.getNow,
  })
  logging.enable(deviceId)
  storageManager.setMiddleware([pkMiddleware, logging])

  return {
    name: options.name,
    storageManager,
    sync: () =>
      doSync({
        storageManager,
        clientSyncLog,
        sharedSyncLog,
        reconciler: reconcileSyncLog,
        userId: options.userId,
        deviceId,
        now: options.getNow?.() ?? '$now',
      }),
    async contents() {
      const contents: Record<string, Array<Record<string, unknown>>> = {}
      for (const collection of options.syncedCollections) {
        const objects: Array<Record<string, unknown>> = await storageManager.collection(collection).findObjects({})
        contents[collection] = objects
          .map((object) =>
            Object.fromEntries(
              Object.entries(object)
                .filter(([, value]) => value !== null && value !== undefined)
                .sort(([a], [b]) => a.localeCompare(b)),
            ),
          )
          .sort((a, b) => String(a['id']).localeCompare(String(b['id'])))
      }
      return contents
    },
    async close() {
      ;(backend as any).dexieInstance?.close?.()
    },
  }
}
