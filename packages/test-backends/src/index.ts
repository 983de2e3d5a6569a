import 'fake-indexeddb/auto'
import type { StorageRegistry } from '@worldbrain/storex'
import { DexieStorageBackend, deleteDexieDatabase } from '@storex-sync/storex-backend-dexie'
import { openMysqlBackend, openPostgresBackend, openSqliteBackend } from '@storex-sync/storex-backend-sql'
import type { SqlStorageBackend } from '@storex-sync/storex-backend-sql'
import { StorageManager, openStorageManager, type StorageManagerInstance } from '@storex-sync/storex-glue'

export type BackendKind = 'indexeddb' | 'sqlite' | 'postgres' | 'mysql'

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
  /** Column type of auto-pk fields on SQL backends: 'string' (the default; ids from custom-pk) or 'int' (generated). */
  autoPkType?: 'string' | 'int'
  /** Runs after `finishInitialization()` and migration, before the storage is handed out. */
  afterInitialization?: (storageManager: StorageManagerInstance) => void | Promise<void>
  /**
   * True when `setup` initializes the StorageManager itself (`createSyncedDevice` of
   * `@storex-sync/device` registers, initializes and migrates in one call): nothing
   * more is done to it before `afterInitialization`.
   */
  setupInitializes?: boolean
}

/** openStorageManager, unless `setup` initializes the StorageManager itself. */
async function openTestStorageManager(options: CreateTestStorageOptions, backend: unknown): Promise<StorageManagerInstance> {
  if (!options.setupInitializes) return openStorageManager({ ...options, backend })
  const storageManager = new StorageManager({ backend: backend as ConstructorParameters<typeof StorageManager>[0]['backend'] })
  await options.setup(storageManager)
  await options.afterInitialization?.(storageManager)
  return storageManager
}

let counter = 0
function uniqueName(prefix: string) {
  counter += 1
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`
}

/** IndexedDB through @storex-sync/storex-backend-dexie (Dexie 4), on fake-indexeddb: a fresh database every call, or `database` opened again (another tab). */
export async function createIndexedDbStorage(options: CreateTestStorageOptions & { database?: string }): Promise<TestStorage> {
  const dbName = options.database ?? uniqueName('storex_sync_test')
  const backend = new DexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: IDBKeyRange } })
  const storageManager = await openTestStorageManager(options, backend)
  return {
    kind: 'indexeddb',
    storageManager,
    database: dbName,
    async cleanup() {
      await backend.cleanup()
      // Another tab over a database it did not create only closes it.
      if (!options.database) await deleteDexieDatabase({ dbName }).catch(() => {})
    },
  }
}

/** SQLite through @storex-sync/storex-backend-sql and better-sqlite3, in memory unless a file is given. */
export async function createSqliteStorage(
  options: CreateTestStorageOptions & { database?: string },
): Promise<TestStorage> {
  const backend = await openSqliteBackend({ filename: options.database ?? ':memory:', autoPkType: options.autoPkType ?? 'string' })
  let storageManager: StorageManagerInstance
  try {
    storageManager = await openTestStorageManager(options, backend)
  } catch (error) {
    await backend.close().catch(() => {})
    throw error
  }
  return {
    kind: 'sqlite',
    storageManager,
    ...(options.database ? { database: options.database } : {}),
    async cleanup() {
      await backend.close()
    },
  }
}

/** The connection variable that points PostgreSQL tests at a server. */
export const POSTGRES_URL_VARIABLE = 'STOREX_SYNC_TEST_POSTGRES_URL'
/** The connection variable that points MariaDB/MySQL tests at a server. */
export const MYSQL_URL_VARIABLE = 'STOREX_SYNC_TEST_MYSQL_URL'

async function findServer(
  kind: string,
  variable: string,
  fallback: string,
  check: (url: string) => Promise<void>,
): Promise<{ url: string } | { skipReason: string }> {
  const url = process.env[variable] ?? fallback
  try {
    await check(url)
    return { url }
  } catch (error) {
    if (process.env[variable] || process.env.CI) {
      throw new Error(`${variable}=${url}: the ${kind} server does not answer: ${(error as Error).message}`)
    }
    return {
      skipReason: `no ${kind} server at ${url} (${(error as Error).message}); set ${variable} to run these tests`,
    }
  }
}

/**
 * Where PostgreSQL tests connect: the variable, else the local server that
 * development machines run, if it answers. With CI=true a silent server fails.
 */
export async function findPostgresUrl(): Promise<{ url: string } | { skipReason: string }> {
  return findServer('PostgreSQL', POSTGRES_URL_VARIABLE, 'postgres://postgres@127.0.0.1:5432/postgres', async (url) => {
    const pg = await import('pg')
    const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.query('select 1')
    } finally {
      await client.end().catch(() => {})
    }
  })
}

/**
 * Where MariaDB/MySQL tests connect: the variable, else the local server at
 * mysql://root@127.0.0.1:3306/test, if it answers. With CI=true a silent server fails.
 */
export async function findMysqlUrl(): Promise<{ url: string } | { skipReason: string }> {
  return findServer('MariaDB/MySQL', MYSQL_URL_VARIABLE, 'mysql://root@127.0.0.1:3306/test', async (url) => {
    const mysql = await import('mysql2/promise')
    const connection = await mysql.default.createConnection({ uri: url, connectTimeout: 2000 })
    try {
      await connection.query('select 1')
    } finally {
      await connection.end().catch(() => {})
    }
  })
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

/** Creates a MariaDB/MySQL database with a unique name on the server, returns its URL and a function that drops it. */
export async function createMysqlDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('storex_sync_test').toLowerCase()
  const mysql = await import('mysql2/promise')
  const admin = async (statement: string) => {
    const connection = await mysql.default.createConnection({ uri: serverUrl })
    try {
      await connection.query(statement)
    } finally {
      await connection.end()
    }
  }
  await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS \`${name}\``) }
}

async function createServerStorage(
  kind: 'postgres' | 'mysql',
  options: CreateTestStorageOptions & { serverUrl: string },
): Promise<TestStorage> {
  const database = kind === 'postgres' ? await createPostgresDatabase(options.serverUrl) : await createMysqlDatabase(options.serverUrl)
  const autoPkType = options.autoPkType ?? 'string'
  let backend: SqlStorageBackend
  try {
    backend =
      kind === 'postgres'
        ? // No idle timeout: its timers would show up in tests that count fake timers.
          await openPostgresBackend({ connectionString: database.url, autoPkType, max: 4, idleTimeoutMillis: 0 })
        : await openMysqlBackend({ uri: database.url, autoPkType, connectionLimit: 4 })
  } catch (error) {
    await database.drop()
    throw error
  }
  let storageManager: StorageManagerInstance
  try {
    storageManager = await openTestStorageManager(options, backend)
  } catch (error) {
    await backend.close().catch(() => {})
    await database.drop()
    throw error
  }
  return {
    kind,
    storageManager,
    async cleanup() {
      await backend.close()
      await database.drop()
    },
  }
}

/** PostgreSQL through @storex-sync/storex-backend-sql and pg, in a database of its own that cleanup() drops. */
export function createPostgresStorage(options: CreateTestStorageOptions & { serverUrl: string }): Promise<TestStorage> {
  return createServerStorage('postgres', options)
}

/** MariaDB/MySQL through @storex-sync/storex-backend-sql and mysql2, in a database of its own that cleanup() drops. */
export function createMysqlStorage(options: CreateTestStorageOptions & { serverUrl: string }): Promise<TestStorage> {
  return createServerStorage('mysql', options)
}

/**
 * Set to 1 to run every client suite on PostgreSQL and MariaDB/MySQL too
 * (`.ci/run` does; it takes a few minutes more).
 */
export const SQL_SERVERS_VARIABLE = 'STOREX_SYNC_TEST_SQL_SERVERS'

function serverBackend(kind: 'postgres' | 'mysql') {
  let found: Promise<{ url: string } | { skipReason: string }> | undefined
  return async (options: CreateTestStorageOptions) => {
    found ??= kind === 'postgres' ? findPostgresUrl() : findMysqlUrl()
    const server = await found
    if ('skipReason' in server) {
      throw new Error(`${SQL_SERVERS_VARIABLE}=1 asks for ${kind} but ${server.skipReason}`)
    }
    return createServerStorage(kind, { ...options, serverUrl: server.url })
  }
}

/** The client-side backends every client suite runs on. */
export const clientBackends: Array<{
  kind: BackendKind
  create: (options: CreateTestStorageOptions) => Promise<TestStorage>
}> = [
  { kind: 'indexeddb', create: createIndexedDbStorage },
  { kind: 'sqlite', create: createSqliteStorage },
  ...(process.env[SQL_SERVERS_VARIABLE] === '1'
    ? [
        { kind: 'postgres' as const, create: serverBackend('postgres') },
        { kind: 'mysql' as const, create: serverBackend('mysql') },
      ]
    : []),
]

export { StorageManager }
export type { StorageManagerInstance, StorageRegistry }
