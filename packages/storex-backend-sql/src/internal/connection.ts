import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely'
import { StorexBackendSqlError } from '../errors'
import { PoolRunner } from './pool-runner'
import type { StatementRunner } from './runner'
import { SqliteRunner } from './sqlite-runner'
import type { SqliteDatabaseLike } from './sqlite-runner'

/** Where the data lives: a database handle or pool you created. */
export type SqlConnection =
  | {
      dialect: 'sqlite'
      database: SqliteDatabaseLike
      /**
       * A second, read-only connection to the same file (WAL mode): reads use
       * it, so they see the last committed state and can run while a large
       * batch is being written. `openSqliteBackend` opens one for files.
       */
      reader?: SqliteDatabaseLike
    }
  | { dialect: 'postgres'; pool: any; schema?: string }
  | { dialect: 'mysql'; pool: any }

/** The runner (and Kysely instance) for a connection. */
export function makeRunner(connection: SqlConnection, yieldAfterMs: number): StatementRunner {
  switch (connection?.dialect) {
    case 'sqlite': {
      const kysely = new Kysely<any>({ dialect: new SqliteDialect({ database: connection.database as any }) })
      return new SqliteRunner(kysely, connection.database, connection.reader ?? null, yieldAfterMs)
    }
    case 'postgres':
      return new PoolRunner(new Kysely<any>({ dialect: new PostgresDialect({ pool: connection.pool }) }))
    case 'mysql':
      return new PoolRunner(new Kysely<any>({ dialect: new MysqlDialect({ pool: connection.pool }) }))
    default:
      throw new StorexBackendSqlError(
        'NOT_CONFIGURED',
        `unknown dialect ${JSON.stringify((connection as any)?.dialect)}; pass connection.dialect 'sqlite', 'postgres' or 'mysql'`,
      )
  }
}
