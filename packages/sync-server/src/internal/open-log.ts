import { existsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'
import { PostgresSharedSyncLog } from './postgres-log'
import { createReplicaModule, openReplicaDatabase, type OpenedReplica } from './replica-setup'

export interface OpenedSharedSyncLog {
  sharedSyncLog: SharedSyncLog
  kind: 'sqlite' | 'postgres'
  /** For status lines: the file path, or the URL without its password. */
  description: string
  close(): Promise<void>
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>
  /** What a user stores, for quotas; `bytes` is null where the storage cannot tell. */
  usage(userId: string | number): Promise<{ devices: number; entries: number; bytes: number | null }>
  /** The replica, when asked for (`close()` closes its database too). */
  replica: OpenedReplica | null
}

export interface OpenSharedSyncLogOptions {
  /** `postgres://...` / `postgresql://...` for PostgreSQL; else the path of an SQLite file (`:memory:` for a throw-away one). */
  database: string
  /** Pool size for PostgreSQL (default 10). */
  poolSize?: number
  /** PostgreSQL: told about connection errors the log survived (see `PostgresSharedSyncLog`). */
  onConnectionError?: (error: Error) => void
  /**
   * Also open a replica (`@storex-sync/replica`) of the users' data: in
   * `database` (an SQLite path or a postgres:// URL), by default in the log's
   * own database (the same SQLite file through the same storage manager, or
   * the same PostgreSQL database).
   */
  replica?: boolean | { database?: string; batchSize?: number }
}

/** Hides the password of a connection URL, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
  }
}

/**
 * Opens the shared log the server stores its data in: PostgreSQL for a
 * `postgres://` URL (see `PostgresSharedSyncLog`), otherwise
 * `SharedSyncLogStorage` on an SQLite file through @storex-sync/storex-backend-sql
 * and better-sqlite3 (WAL mode; the storage module's indices are created).
 */
export async function openSharedSyncLog(options: OpenSharedSyncLogOptions): Promise<OpenedSharedSyncLog> {
  const database = options.database
  if (typeof database !== 'string' || database.trim() === '') {
    throw new SyncServerError('INVALID_DATABASE', 'no database given; pass a postgres:// URL or the path of an SQLite file.')
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(database)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new SyncServerError('INVALID_DATABASE', `unsupported database URL scheme "${scheme}://"; use postgres://user:password@host:5432/database for PostgreSQL, or a file path for SQLite.`)
  }
  const replica = options.replica === true ? {} : options.replica || null
  const separate = replica?.database !== undefined && replica.database !== database
  const opened = scheme !== undefined ? await openPostgres(database, options) : await openSqlite(database, replica && !separate ? replica : null)
  if (!replica || opened.replica) return opened
  try {
    const own = await openReplicaDatabase(replica.database ?? database, opened.sharedSyncLog, { batchSize: replica.batchSize, describe: describeDatabase })
    return { ...opened, replica: own, close: async () => {
      await own.close()
      await opened.close()
    } }
  } catch (error) {
    await opened.close().catch(() => {})
    throw error
  }
}

/** For status lines: an SQLite path, or a URL without its password. */
function describeDatabase(database: string): string {
  return /^postgres(ql)?:\/\//i.test(database) ? redactUrl(database) : database === ':memory:' ? 'SQLite in memory' : `SQLite file ${resolve(database.replace(/^sqlite:/i, ''))}`
}

async function openPostgres(database: string, options: OpenSharedSyncLogOptions): Promise<OpenedSharedSyncLog> {
  let parsed: URL
  try {
    parsed = new URL(database)
  } catch (cause) {
    throw new SyncServerError('INVALID_DATABASE', `"${redactUrl(database)}" is not a valid URL; use postgres://user:password@host:5432/database (percent-encode special characters in the password).`, { cause })
  }
  if (!parsed.hostname || parsed.pathname.length <= 1) {
    throw new SyncServerError('INVALID_DATABASE', `"${redactUrl(database)}" names no ${parsed.hostname ? 'database' : 'host'}; use postgres://user:password@host:5432/database.`)
  }
  const description = redactUrl(database)
  let log: PostgresSharedSyncLog
  try {
    log = await PostgresSharedSyncLog.connect({ connectionString: database, poolSize: options.poolSize, onConnectionError: options.onConnectionError })
  } catch (cause) {
    const code = (cause as { code?: string })?.code
    const detail = code ? `${code}: ${(cause as Error).message}` : (cause as Error)?.message
    throw new SyncServerError('DATABASE_UNREACHABLE', `cannot use the PostgreSQL database at ${description} (${detail}); check that the server runs, the database exists and the user may create tables in it.`, { cause })
  }
  return { sharedSyncLog: log, kind: 'postgres', description, close: () => log.close(), ping: () => log.ping(), usage: (userId) => log.usage(userId), replica: null }
}

async function openSqlite(database: string, replicaOptions: { batchSize?: number } | null): Promise<OpenedSharedSyncLog> {
  const path = database === ':memory:' ? database : resolve(database.replace(/^sqlite:/i, ''))
  if (path !== ':memory:') {
    const dir = dirname(path)
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new SyncServerError('DATABASE_UNREACHABLE', `cannot create the SQLite file ${path}: the directory ${dir} does not exist; create it or pass another --database path.`)
    }
  }
  const [{ StorageManager }, { openSqliteBackend }, { registerModuleMapCollections }, { SharedSyncLogStorage }] = await Promise.all([
    import('@storex-sync/storex-glue'),
    import('@storex-sync/storex-backend-sql'),
    import('@worldbrain/storex-pattern-modules'),
    import('@storex-sync/shared-sync-log-storex'),
  ])
  let backend: Awaited<ReturnType<typeof openSqliteBackend>>
  try {
    // String pks: device ids are random UUIDs, so a new device id tells nothing about how many devices the server has.
    backend = await openSqliteBackend({ filename: path, autoPkType: 'string' })
  } catch (cause) {
    throw new SyncServerError('DATABASE_UNREACHABLE', `cannot open the SQLite database ${path} (${(cause as Error)?.message}); check the file is an SQLite database this process may write.`, { cause })
  }
  const storageManager = new StorageManager({ backend: backend as any })
  try {
    const sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'string' })
    // The replica in the same file goes through the same storage manager: one connection, one writer.
    const replica = replicaOptions ? await createReplicaModule(storageManager, sharedSyncLog, replicaOptions.batchSize) : null
    registerModuleMapCollections(storageManager.registry, replica ? { sharedSyncLog, replica } : { sharedSyncLog })
    await storageManager.finishInitialization()
    await backend.migrate()
    const description = path === ':memory:' ? 'SQLite in memory (data is lost on exit)' : `SQLite file ${path}`
    return {
      replica: replica ? { replica, description: `${description} (with the log)`, close: async () => {} } : null,
      sharedSyncLog,
      kind: 'sqlite',
      description,
      close: () => backend.close(),
      ping: async () => {
        await storageManager.collection('sharedSyncLogDeviceInfo').countObjects({})
      },
      usage: async (userId) => {
        const [devices, entries] = await Promise.all([
          storageManager.collection('sharedSyncLogDeviceInfo').countObjects({ userId: String(userId) }),
          storageManager.collection('sharedSyncLogEntry').countObjects({ userId: String(userId) }),
        ])
        return { devices, entries, bytes: null }
      },
    }
  } catch (cause) {
    await backend.close().catch(() => {})
    throw new SyncServerError('DATABASE_UNREACHABLE', `cannot open the SQLite database ${path} (${(cause as Error)?.message}); check the file is an SQLite database this process may write.`, { cause })
  }
}
