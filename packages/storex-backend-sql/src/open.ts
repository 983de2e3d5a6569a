import { SqlStorageBackend } from './backend'
import type { AutoPkType } from './internal/schema'

export interface OpenSqliteOptions {
  /** A file path, or ':memory:' (the default). */
  filename?: string
  autoPkType?: AutoPkType
  /**
   * For files: WAL journal and `synchronous = NORMAL` (durable across app
   * crashes, fast). Default true; false leaves SQLite's defaults.
   */
  wal?: boolean
  /**
   * For files: a second, read-only connection for reads, so that reads (of
   * other users, on a server) run while a large batch is written. Default true.
   */
  reader?: boolean
}

/** SQLite through better-sqlite3 (install `better-sqlite3`). */
export async function openSqliteBackend(options: OpenSqliteOptions = {}): Promise<SqlStorageBackend> {
  const module: any = await import('better-sqlite3')
  const Database = module.default ?? module
  const filename = options.filename ?? ':memory:'
  const database = new Database(filename)
  if (filename !== ':memory:' && filename !== '' && options.wal !== false) {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
  }
  const isFile = filename !== ':memory:' && filename !== '' && !filename.startsWith('file::memory:')
  const wal = isFile && options.wal !== false && String(database.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal'
  const reader = wal && options.reader !== false ? new Database(filename, { readonly: true }) : undefined
  return new SqlStorageBackend({ connection: { dialect: 'sqlite', database, reader }, autoPkType: options.autoPkType })
}

export interface OpenPostgresOptions {
  /** postgres://user:password@host:port/database */
  connectionString: string
  autoPkType?: AutoPkType
  /** Pool size (default 10). */
  max?: number
  /** The schema the tables live in (default 'public'; the connection's search_path must name it). */
  schema?: string
  /** pg's idle timeout of pooled connections in ms (default pg's 10000; 0 keeps them open and sets no timers). */
  idleTimeoutMillis?: number
  /**
   * Told when an idle pooled connection fails (the server restarted, or an administrator ended it).
   * The pool drops that connection and opens another for the next query; without a listener, pg would
   * raise the error as an uncaught exception. Default: ignore it.
   */
  onConnectionError?: (error: Error) => void
}

/** PostgreSQL through a pg Pool (install `pg`); int8 columns are read as numbers. */
export async function openPostgresBackend(options: OpenPostgresOptions): Promise<SqlStorageBackend> {
  const module: any = await import('pg')
  const pg = module.default ?? module
  const INT8 = 20
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    ...(options.idleTimeoutMillis !== undefined ? { idleTimeoutMillis: options.idleTimeoutMillis } : {}),
    types: {
      getTypeParser: (oid: number, format?: any) =>
        oid === INT8 ? (value: string) => (value === null ? null : Number(value)) : pg.types.getTypeParser(oid, format),
    },
  })
  pool.on('error', (error: Error) => options.onConnectionError?.(error))
  return new SqlStorageBackend({
    connection: { dialect: 'postgres', pool, schema: options.schema },
    autoPkType: options.autoPkType,
  })
}

export interface OpenMysqlOptions {
  /** mysql://user:password@host:port/database */
  uri: string
  autoPkType?: AutoPkType
  /** Pool size (default 10). */
  connectionLimit?: number
}

/** MySQL or MariaDB through a mysql2 pool (install `mysql2`); dates are stored in UTC. */
export async function openMysqlBackend(options: OpenMysqlOptions): Promise<SqlStorageBackend> {
  const module: any = await import('mysql2')
  const mysql = module.default ?? module
  const pool = mysql.createPool({
    uri: options.uri,
    connectionLimit: options.connectionLimit ?? 10,
    timezone: 'Z',
    supportBigNumbers: true,
    charset: 'utf8mb4',
  })
  return new SqlStorageBackend({ connection: { dialect: 'mysql', pool }, autoPkType: options.autoPkType })
}
