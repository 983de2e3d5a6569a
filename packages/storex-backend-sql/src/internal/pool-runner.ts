import { CompiledQuery, sql } from 'kysely'
import type { Kysely, Transaction } from 'kysely'
import { RunnerBase } from './runner'
import type { Gen, Request, RunResult, StatementRunner } from './runner'

/** PostgreSQL (pg) and MySQL/MariaDB (mysql2): every statement goes through Kysely to the pool. */
export class PoolRunner extends RunnerBase implements StatementRunner {
  constructor(readonly kysely: Kysely<any>) {
    super()
  }

  read<T>(gen: Gen<T>): Promise<T> {
    this.checkOpen()
    return this.runAsync(gen, this.kysely)
  }

  write<T>(gen: Gen<T>): Promise<T> {
    this.checkOpen()
    return this.runAsync(gen, this.kysely)
  }

  transaction<T>(gen: Gen<T>): Promise<T> {
    this.checkOpen()
    return this.kysely.transaction().execute((trx) => this.runAsync(gen, trx))
  }

  async ddl(statement: string): Promise<void> {
    await sql.raw(statement).execute(this.kysely)
  }

  async selectRows(statement: string): Promise<any[]> {
    return (await sql.raw<any>(statement).execute(this.kysely)).rows
  }

  clearStatements(): void {}

  async close(closeConnection: boolean): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (closeConnection) await this.kysely.destroy()
  }

  private async runAsync<T>(gen: Gen<T>, executor: Kysely<any> | Transaction<any>): Promise<T> {
    let step = gen.next()
    while (!step.done) {
      step = gen.next(await execute(executor, step.value))
    }
    return step.value
  }
}

async function execute(executor: Kysely<any> | Transaction<any>, request: Request): Promise<any> {
  const result = await executor.executeQuery(CompiledQuery.raw(request.sql, request.params))
  if (request.kind === 'all') {
    return result.rows
  }
  return {
    changes: result.numAffectedRows !== undefined ? Number(result.numAffectedRows) : 0,
    insertId: result.insertId !== undefined ? Number(result.insertId) : undefined,
  } satisfies RunResult
}
