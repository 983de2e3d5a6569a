import type { Kysely } from 'kysely'
import { StorexBackendSqlError } from '../errors'

/** One statement a statement generator needs run: `all` returns the rows, `run` a `RunResult`. */
export type Request = { sql: string; params: unknown[]; kind: 'all' | 'run' }
export type RunResult = { changes: number; insertId?: number }
/**
 * Statements are generators that yield each request and receive its result,
 * so the same statement code runs synchronously on better-sqlite3 (no
 * promise per statement) and asynchronously on a server's pool.
 */
export type Gen<T> = Generator<Request, T, any>

/** Runs statement generators on one connection (SQLite) or pool (PostgreSQL, MySQL). */
export interface StatementRunner {
  /** The Kysely instance over the same connection. */
  readonly kysely: Kysely<any>
  /** Throws `CLOSED` once `close()` was called. */
  checkOpen(): void
  /** A read (on SQLite's reader connection when there is one). */
  read<T>(gen: Gen<T>): T | Promise<T>
  /** A write of a single statement. */
  write<T>(gen: Gen<T>): T | Promise<T>
  /** Every statement of `gen` in one transaction. */
  transaction<T>(gen: Gen<T>): T | Promise<T>
  /** A schema statement (CREATE, ALTER). */
  ddl(statement: string): Promise<void>
  /** The rows of a statement without parameters. */
  selectRows(statement: string): Promise<any[]>
  /** Forgets prepared statements (after the schema changed). */
  clearStatements(): void
  /** Waits for running work, then closes the connection or pool when `closeConnection`. */
  close(closeConnection: boolean): Promise<void>
}

export abstract class RunnerBase {
  protected closed = false

  checkOpen(): void {
    if (this.closed) {
      throw new StorexBackendSqlError('CLOSED', 'the backend was closed; create a new one to use the database again')
    }
  }
}
