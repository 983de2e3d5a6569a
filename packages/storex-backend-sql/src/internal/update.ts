import { StorexBackendSqlError } from '../errors'
import type { Dialect } from './dialect'
import type { Gen, RunResult } from './runner'
import { columnType } from './schema'
import type { CollectionInfo, ColumnInfo } from './schema'
import { encodeValue } from './values'
import { compileWhere } from './where'

export function* updateGen(dialect: Dialect, info: CollectionInfo, where: any, updates: any): Gen<RunResult> {
  const params: unknown[] = []
  const sets: string[] = []
  for (const key in updates) {
    const value = updates[key]
    if (value === undefined) continue
    const column = info.byKey.get(key)
    if (!column) {
      throw new StorexBackendSqlError('UNKNOWN_FIELD', `cannot update ${info.name}.${key}: no such field or relationship in the registry`)
    }
    params.push(encodeValue(column, value))
    sets.push(`${dialect.quote(column.column)} = ${dialect.placeholder(params.length)}`)
  }
  if (!sets.length) return { changes: 0 }
  let text = `UPDATE ${dialect.quote(info.table)} SET ${sets.join(', ')}`
  const condition = compileWhere(where, info, dialect, params)
  if (condition) text += ` WHERE ${condition}`
  return yield { sql: text, params, kind: 'run' }
}

/** One object's update by its single-column pk. */
export interface UpdateByPk {
  where: Record<string, unknown>
  updates: Record<string, unknown>
}

/**
 * Updates of many objects by pk, all setting the same fields (those of the
 * first), in one statement per chunk: a join with (MySQL) or an UPDATE FROM
 * (SQLite, PostgreSQL) a table of values.
 */
export function* updateManyGen(dialect: Dialect, info: CollectionInfo, operations: UpdateByPk[]): Gen<void> {
  const pkColumn = info.pkColumns[0]
  const first = operations[0]
  if (!pkColumn || !first) return
  const columns = Object.keys(first.updates)
    .sort()
    .map((key) => info.byKey.get(key)!)
  const chunk = dialect.maxRows(columns.length + 1)
  const cast = (column: ColumnInfo, placeholder: string) =>
    dialect.name === 'postgres' ? `CAST(${placeholder} AS ${columnType(column, dialect).replace(/ generated .*$/, '')})` : placeholder
  for (let start = 0; start < operations.length; start += chunk) {
    const params: unknown[] = []
    const rows: string[][] = []
    for (const operation of operations.slice(start, start + chunk)) {
      const cells: string[] = []
      params.push(operation.where[pkColumn.key])
      cells.push(cast(pkColumn, dialect.placeholder(params.length)))
      for (const column of columns) {
        params.push(encodeValue(column, operation.updates[column.key]))
        cells.push(cast(column, dialect.placeholder(params.length)))
      }
      rows.push(cells)
    }
    const text = dialect.name === 'mysql' ? mysqlUpdateJoin(dialect, info, pkColumn, columns, rows) : updateFromValues(dialect, info, pkColumn, columns, rows)
    yield { sql: text, params, kind: 'run' }
  }
}

function mysqlUpdateJoin(dialect: Dialect, info: CollectionInfo, pkColumn: ColumnInfo, columns: ColumnInfo[], rows: string[][]): string {
  const q = dialect.quote
  const table = q(info.table)
  // The first SELECT names the columns of the derived table c0, c1, ...
  const selects = rows.map((cells, index) =>
    index === 0 ? `SELECT ${cells.map((cell, c) => `${cell} AS ${q(`c${c}`)}`).join(', ')}` : `SELECT ${cells.join(', ')}`,
  )
  return (
    `UPDATE ${table} JOIN (${selects.join(' UNION ALL ')}) AS v ON ${table}.${q(pkColumn.column)} = v.${q('c0')} ` +
    `SET ${columns.map((column, c) => `${table}.${q(column.column)} = v.${q(`c${c + 1}`)}`).join(', ')}`
  )
}

function updateFromValues(dialect: Dialect, info: CollectionInfo, pkColumn: ColumnInfo, columns: ColumnInfo[], rows: string[][]): string {
  const q = dialect.quote
  const table = q(info.table)
  const values = rows.map((cells) => `(${cells.join(', ')})`).join(', ')
  // SQLite names the columns of a VALUES table column1, column2, ...; PostgreSQL takes the names in the alias.
  const name = (c: number) => (dialect.name === 'sqlite' ? `column${c + 1}` : q(`c${c}`))
  const alias = dialect.name === 'sqlite' ? 'v' : `v(${[pkColumn, ...columns].map((_, c) => q(`c${c}`)).join(', ')})`
  return (
    `UPDATE ${table} SET ${columns.map((column, c) => `${q(column.column)} = v.${name(c + 1)}`).join(', ')} ` +
    `FROM (VALUES ${values}) AS ${alias} WHERE ${table}.${q(pkColumn.column)} = v.${name(0)}`
  )
}
