import 'fake-indexeddb/auto'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { CollectionDefinitionMap } from '@worldbrain/storex'
import { StorageManager, createSyncedDevice, type StorexStorageManager, type SyncedObjects } from '@storex-sync/device'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, staticTokenAuthenticator } from '@storex-sync/sync-server'
import type { SyncResult } from '@storex-sync/sync-orchestrator'

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
  storageManager: StorexStorageManager
  sync(): Promise<SyncResult>
  /** Every synced object, sorted by id, without empty fields: for printing and comparing. */
  contents(): Promise<SyncedObjects>
  close(): Promise<void>
}

/**
 * One device: its own IndexedDB database (Dexie), set up by createSyncedDevice:
 * random string ids, every write to a synced collection logged, and sync()
 * against the sync server. Its device id is made on the device at its first
 * write and registered by its first sync.
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
  const backend = new DexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: IDBKeyRange } })
  const device = await createSyncedDevice({
    storageManager: new StorageManager({ backend }),
    collections: options.collections,
    syncedCollections: options.syncedCollections,
    sharedSyncLog: new HttpSharedSyncLog({ url: options.server.url, token: options.server.tokenOf(options.userId) }),
    userId: options.userId,
    getNow: options.getNow,
  })
  const { storageManager } = device

  return {
    name: options.name,
    storageManager,
    sync: () => device.sync(),
    contents: () => device.readSyncedObjects(),
    async close() {
      await backend.cleanup()
    },
  }
}
