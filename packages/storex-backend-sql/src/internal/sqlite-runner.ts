import type { Kysely } from 'kysely'
import { RunnerBase } from './runner'
import type { Gen, Request, RunResult, StatementRunner } from './runner'

/** A better-sqlite3 `Database` (only the members the backend uses). */
export interface SqliteDatabaseLike {
  prepare(sql: string): any
  exec(sql: string): any
  transaction(fn: (...args: any[]) => any): (...args: any[]) => any
  close(): any
  readonly inTransaction: boolean
}

/** Prepared statements kept per connection; cleared when full so that varying texts cannot grow it without end. */
class StatementCache {
  private readonly statements = new Map<string, any>()

  constructor(readonly database: SqliteDatabaseLike) {}

  get(text: string): any {
    let statement = this.statements.get(text)
    if (statement === undefined) {
      statement = this.database.prepare(text)
      if (this.statements.size >= 1000) this.statements.clear()
      this.statements.set(text, statement)
    }
    return statement
  }

  keys(): IterableIterator<string> {
    return this.statements.keys()
  }

  clear(): void {
    this.statements.clear()
  }
}

/**
 * SQLite through better-sqlite3: statements run synchronously on prepared
 * statements. With a read-only `reader` connection (WAL), reads run there and
 * a long batch lets the event loop run (see `runYielding`).
 */
export class SqliteRunner extends RunnerBase implements StatementRunner {
  readonly statements: StatementCache
  private readonly readerStatements: StatementCache | null
  /** Set while a batch that yields is open: other writes wait for it. */
  private writeLock: Promise<void> | null = null

  constructor(
    readonly kysely: Kysely<any>,
    private readonly database: SqliteDatabaseLike,
    private readonly reader: SqliteDatabaseLike | null,
    private readonly yieldAfterMs: number,
  ) {
    super()
    this.statements = new StatementCache(database)
    this.readerStatements = reader ? new StatementCache(reader) : null
  }

  read<T>(gen: Gen<T>): T {
    this.checkOpen()
    return runSync(gen, this.readerStatements ?? this.statements)
  }

  write<T>(gen: Gen<T>): T | Promise<T> {
    this.checkOpen()
    if (this.writeLock) return this.afterWriteLock(() => runSync(gen, this.statements))
    return runSync(gen, this.statements)
  }

  transaction<T>(gen: Gen<T>): T | Promise<T> {
    this.checkOpen()
    if (this.writeLock) return this.afterWriteLock(() => this.transaction(gen))
    if (this.reader) return this.runYielding(gen)
    return this.database.transaction(() => runSync(gen, this.statements))()
  }

  async ddl(statement: string): Promise<void> {
    this.database.exec(statement)
  }

  async selectRows(statement: string): Promise<any[]> {
    return this.database.prepare(statement).all()
  }

  clearStatements(): void {
    this.statements.clear()
    this.readerStatements?.clear()
  }

  async close(closeConnection: boolean): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.writeLock) await this.writeLock
    this.clearStatements()
    if (closeConnection) {
      await this.kysely.destroy()
      this.reader?.close()
    }
  }

  private async afterWriteLock<T>(run: () => T | Promise<T>): Promise<T> {
    while (this.writeLock) await this.writeLock
    this.checkOpen()
    return run()
  }

  /**
   * A transaction that lets the event loop run once it has taken
   * `yieldAfterMs`; other writes wait on `writeLock` meanwhile, reads go to
   * the reader and see the state before the batch.
   */
  private async runYielding<T>(gen: Gen<T>): Promise<T> {
    let release!: () => void
    let locked = false
    execute(this.statements, { sql: 'BEGIN IMMEDIATE', params: [], kind: 'run' })
    try {
      let sliceStarted = performance.now()
      let step = gen.next()
      while (!step.done) {
        step = gen.next(execute(this.statements, step.value))
        if (!step.done && performance.now() - sliceStarted > this.yieldAfterMs) {
          if (!locked) {
            locked = true
            this.writeLock = new Promise<void>((resolve) => (release = resolve))
          }
          await new Promise<void>((resolve) => setImmediate(resolve))
          this.checkOpen()
          sliceStarted = performance.now()
        }
      }
      execute(this.statements, { sql: 'COMMIT', params: [], kind: 'run' })
      return step.value
    } catch (error) {
      if (this.database.inTransaction) execute(this.statements, { sql: 'ROLLBACK', params: [], kind: 'run' })
      throw error
    } finally {
      if (locked) {
        this.writeLock = null
        release()
      }
    }
  }
}

function execute(statements: StatementCache, request: Request): any {
  const statement = statements.get(request.sql)
  if (request.kind === 'all') {
    return statement.all(request.params)
  }
  const result = statement.run(request.params)
  return { changes: result.changes, insertId: Number(result.lastInsertRowid) } satisfies RunResult
}

function runSync<T>(gen: Gen<T>, statements: StatementCache): T {
  let step = gen.next()
  while (!step.done) {
    step = gen.next(execute(statements, step.value))
  }
  return step.value
}
