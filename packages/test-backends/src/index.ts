import 'fake-indexeddb/auto'
import * as storex from '@worldbrain/storex'
import type { StorageRegistry } from '@worldbrain/storex'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { TypeORMStorageBackend } from '@worldbrain/storex-backend-typeorm'

// `@worldbrain/storex` is CommonJS with a default export: in ESM the class is
// `.default` of the module object, in CJS it may be the module itself.
type StorageManagerInstance = storex.default
const StorageManager: typeof storex.default =
  ((storex as any).default?.default ?? (storex as any).default ?? storex) as typeof storex.default

export type BackendKind = 'indexeddb' | 'sqlite' | 'postgres'

export interface TestStorage {
  kind: BackendKind
  storageManager: StorageManagerInstance
  /** The database it opened (IndexedDB name or SQLite file), to open it again as another tab or process would. */
  database?: string
  /** Closes connections and drops what the backend created. */
  cleanup(): Promise<void>
}

export interface CreateTestStorageOptions {
  /** Registers collections and modules before `finishInitialization()`. */
  setup: (storageManager: StorageManagerInstance) => void | Promise<void>
  /** Column type of auto-generated pks on SQL backends; string ids need 'varchar'. */
  autoPkType?: 'string' | 'int'
  /** Runs after `finishInitialization()` and migration, before the storage is handed out. */
  afterInitialization?: (storageManager: StorageManagerInstance) => void | Promise<void>
}

let counter = 0
function uniqueName(prefix: string) {
  counter += 1
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`
}

function typeormAutoPkOptions(autoPkType: 'string' | 'int') {
  return autoPkType === 'string'
    ? { type: 'varchar' as const }
    : { type: 'integer' as const, generated: 'increment' as const }
}

async function initialize(storageManager: StorageManagerInstance, options: CreateTestStorageOptions) {
  await options.setup(storageManager)
  await storageManager.finishInitialization()
  const backend = storageManager.backend as any
  if (typeof backend.migrate === 'function') {
    await backend.migrate()
  }
  await options.afterInitialization?.(storageManager)
}

/** IndexedDB through @storex-sync/storex-backend-dexie (Dexie 4), on fake-indexeddb: a fresh database every call, or `database` opened again (another tab). */
export async function createIndexedDbStorage(options: CreateTestStorageOptions & { database?: string }): Promise<TestStorage> {
  const dbName = options.database ?? uniqueName('storex_sync_test')
  const backend = new DexieStorageBackend({
    dbName,
    idbImplementation: { factory: indexedDB, range: IDBKeyRange as any },
  })
  const storageManager = new StorageManager({ backend: backend as any })
  await initialize(storageManager, options)
  return {
    kind: 'indexeddb',
    storageManager,
    database: dbName,
    async cleanup() {
      await backend.cleanup()
      // Another tab over a database it did not create only closes it.
      if (options.database) return
      await new Promise<void>((resolve) => {
        const request = indexedDB.deleteDatabase(dbName)
        request.onsuccess = request.onerror = request.onblocked = () => resolve()
      })
    },
  }
}

/** SQLite through TypeORM and better-sqlite3, in memory unless a file is given. */
export async function createSqliteStorage(
  options: CreateTestStorageOptions & { database?: string },
): Promise<TestStorage> {
  const backend = new TypeORMStorageBackend({
    connectionOptions: {
      type: 'better-sqlite3',
      database: options.database ?? ':memory:',
      name: uniqueName('sqlite'),
    } as any,
    autoPkOptions: typeormAutoPkOptions(options.autoPkType ?? 'string') as any,
  })
  const storageManager = new StorageManager({ backend: backend as any })
  await initialize(storageManager, options)
  return {
    kind: 'sqlite',
    storageManager,
    ...(options.database ? { database: options.database } : {}),
    async cleanup() {
      await backend.connection?.close()
    },
  }
}

/** The connection variable that points PostgreSQL tests at a server. */
export const POSTGRES_URL_VARIABLE = 'STOREX_SYNC_TEST_POSTGRES_URL'

/**
 * Where PostgreSQL tests connect: the variable, else the local server that
 * development machines run, if it answers.
 */
export async function findPostgresUrl(): Promise<{ url: string } | { skipReason: string }> {
  const url = process.env[POSTGRES_URL_VARIABLE] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const pg = await import('pg')
  const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return { url }
  } catch (error) {
    if (process.env[POSTGRES_URL_VARIABLE]) {
      throw new Error(`${POSTGRES_URL_VARIABLE}=${url} is set but the server does not answer: ${(error as Error).message}`)
    }
    return {
      skipReason: `no PostgreSQL server at ${url} (${(error as Error).message}); set ${POSTGRES_URL_VARIABLE} to run these tests`,
    }
  } finally {
    await client.end().catch(() => {})
  }
}

async function withAdminClient<T>(url: string, run: (client: any) => Promise<T>): Promise<T> {
  const pg = await import('pg')
  const client = new pg.default.Client({ connectionString: url })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/** Creates a database with a unique name on the server, returns its URL and a function that drops it. */
export async function createPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('storex_sync_test').toLowerCase()
  await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => withAdminClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  }
}

/** PostgreSQL through TypeORM and pg, in a database of its own that cleanup() drops. */
export async function createPostgresStorage(
  options: CreateTestStorageOptions & { serverUrl: string },
): Promise<TestStorage> {
  const database = await createPostgresDatabase(options.serverUrl)
  const backend = new TypeORMStorageBackend({
    connectionOptions: { type: 'postgres', url: database.url, name: uniqueName('postgres') } as any,
    autoPkOptions: typeormAutoPkOptions(options.autoPkType ?? 'string') as any,
  })
  const storageManager = new StorageManager({ backend: backend as any })
  try {
    await initialize(storageManager, options)
  } catch (error) {
    await backend.connection?.close().catch(() => {})
    await database.drop()
    throw error
  }
  return {
    kind: 'postgres',
    storageManager,
    async cleanup() {
      await backend.connection?.close()
      await database.drop()
    },
  }
}

/** The client-side backends every client suite runs on. */
export const clientBackends: Array<{
  kind: 'indexeddb' | 'sqlite'
  create: (options: CreateTestStorageOptions) => Promise<TestStorage>
}> = [
  { kind: 'indexeddb', create: createIndexedDbStorage },
  { kind: 'sqlite', create: createSqliteStorage },
]

export { StorageManager }
export type { StorageManagerInstance, StorageRegistry }
