import * as storex from '@worldbrain/storex'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { openSqliteBackend } from '@storex-sync/storex-backend-sql'
import { IDBKeyRange, indexedDB } from 'fake-indexeddb'

// `@worldbrain/storex` is CommonJS with a default export: in ESM the class is
// `.default` of the module object, in CJS it may be the module itself.
export type StorageManagerInstance = storex.default
const StorageManager: typeof storex.default = ((storex as any).default?.default ?? (storex as any).default ?? storex) as typeof storex.default

/** A device's storage: a StorageManager ready to use (collections registered, initialized, migrated). */
export interface SimulationStorage {
  storageManager: StorageManagerInstance
  /** The database's name when another StorageManager can open it too (a second browser tab): pass it back as `database`. */
  database?: string
  /** Closes connections and drops the data. */
  cleanup(): Promise<void>
}

/**
 * Makes one device's storage. `setup` registers the collections and modules
 * and must run before `finishInitialization()`.
 */
export type SimulationBackendFactory = (options: {
  name: string
  setup: (storageManager: StorageManagerInstance) => void | Promise<void>
  /** Open this database again (as another tab of the same app) instead of a new one. */
  database?: string
}) => Promise<SimulationStorage>

let counter = 0
function uniqueName(prefix: string, name: string) {
  counter += 1
  return `${prefix}_${process.pid}_${counter}_${name}`
}

async function initialize(storageManager: StorageManagerInstance, setup: (storageManager: StorageManagerInstance) => void | Promise<void>) {
  await setup(storageManager)
  await storageManager.finishInitialization()
  const backend = storageManager.backend as { migrate?: () => Promise<void> }
  if (typeof backend.migrate === 'function') {
    await backend.migrate()
  }
}

/**
 * IndexedDB through @storex-sync/storex-backend-dexie on fake-indexeddb (a
 * fresh in-memory database per device; every batch is one transaction).
 */
export const indexedDbBackend: SimulationBackendFactory = async ({ name, setup, database }) => {
  const dbName = database ?? uniqueName('storex_sync_sim', name)
  const backend = new DexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: IDBKeyRange as any } })
  const storageManager = new StorageManager({ backend: backend as any })
  await initialize(storageManager, setup)
  return {
    storageManager,
    database: dbName,
    async cleanup() {
      await backend.cleanup()
      // Another tab over a database it did not create only closes it.
      if (database) return
      await new Promise<void>((resolve) => {
        const request = indexedDB.deleteDatabase(dbName)
        request.onsuccess = request.onerror = request.onblocked = () => resolve()
      })
    },
  }
}

/** SQLite in memory through @storex-sync/storex-backend-sql and better-sqlite3 (string pks). */
export const sqliteBackend: SimulationBackendFactory = async ({ setup }) => {
  const backend = await openSqliteBackend({ autoPkType: 'string' })
  const storageManager = new StorageManager({ backend: backend as any })
  await initialize(storageManager, setup)
  return {
    storageManager,
    async cleanup() {
      await backend.close()
    },
  }
}

/** The backends a schedule's devices are spread over, by name. */
export const defaultBackends: Record<string, SimulationBackendFactory> = {
  indexeddb: indexedDbBackend,
  sqlite: sqliteBackend,
}
