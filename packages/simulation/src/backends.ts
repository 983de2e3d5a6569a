import { DexieStorageBackend, deleteDexieDatabase } from '@storex-sync/storex-backend-dexie'
import { openSqliteBackend } from '@storex-sync/storex-backend-sql'
import { openStorageManager, type StorageManagerInstance } from '@storex-sync/storex-glue'
import { IDBKeyRange, indexedDB } from 'fake-indexeddb'

export type { StorageManagerInstance }

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

/**
 * IndexedDB through @storex-sync/storex-backend-dexie on fake-indexeddb (a
 * fresh in-memory database per device; every batch is one transaction).
 */
export const indexedDbBackend: SimulationBackendFactory = async ({ name, setup, database }) => {
  const dbName = database ?? uniqueName('storex_sync_sim', name)
  const idbImplementation = { factory: indexedDB, range: IDBKeyRange }
  const backend = new DexieStorageBackend({ dbName, idbImplementation })
  const storageManager = await openStorageManager({ backend, setup })
  return {
    storageManager,
    database: dbName,
    async cleanup() {
      await backend.cleanup()
      // Another tab over a database it did not create only closes it.
      if (!database) await deleteDexieDatabase({ dbName, idbImplementation })
    },
  }
}

/** SQLite in memory through @storex-sync/storex-backend-sql and better-sqlite3 (string pks). */
export const sqliteBackend: SimulationBackendFactory = async ({ setup }) => {
  const backend = await openSqliteBackend({ autoPkType: 'string' })
  const storageManager = await openStorageManager({ backend, setup })
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
