import { StorexBackendSqlError } from '../errors'
import type { Dialect } from './dialect'
import type { Gen } from './runner'
import type { CollectionInfo } from './schema'
import { decodeRows } from './values'
import { compileWhere } from './where'

type Order = Array<[string, string]>

/** Storex's find options this backend reads. */
export interface FindOptions {
  order?: Order
  reverse?: boolean
  limit?: number
  skip?: number
  fields?: string[]
  ignoreCase?: string[]
}

export function* findGen(dialect: Dialect, info: CollectionInfo, where: any, options: FindOptions | undefined): Gen<any[]> {
  const params: unknown[] = []
  const text = selectSql(dialect, info, where, options, params)
  const rows: any[] = yield { sql: text, params, kind: 'all' }
  return decodeRows(info, rows, options?.fields)
}

export function* countGen(dialect: Dialect, info: CollectionInfo, where: any, options: FindOptions | undefined): Gen<number> {
  const params: unknown[] = []
  let text = `SELECT COUNT(*) AS ${dialect.quote('n')} FROM ${dialect.quote(info.table)}`
  const condition = compileWhere(where, info, dialect, params, options?.ignoreCase)
  if (condition) text += ` WHERE ${condition}`
  const rows: any[] = yield { sql: text, params, kind: 'all' }
  return Number(rows[0].n)
}

function selectSql(dialect: Dialect, info: CollectionInfo, where: any, options: FindOptions | undefined, params: unknown[]): string {
  let text = `SELECT ${info.selectList} FROM ${dialect.quote(info.table)}`
  const condition = compileWhere(where, info, dialect, params, options?.ignoreCase)
  if (condition) text += ` WHERE ${condition}`
  const order = effectiveOrder(info, options)
  if (order?.length) text += ` ORDER BY ${orderList(dialect, info, order)}`
  return text + limitClause(dialect, options, params)
}

/** The order asked for; `reverse` turns it around (or orders by pk descending when no order is given). */
function effectiveOrder(info: CollectionInfo, options: FindOptions | undefined): Order | undefined {
  const order = options?.order
  if (!options?.reverse) return order
  const base: Order = order?.length ? order : info.pkColumns.map((column) => [column.key, 'asc'])
  return base.map(([key, direction]) => [key, direction === 'desc' ? 'asc' : 'desc'])
}

function orderList(dialect: Dialect, info: CollectionInfo, order: Order): string {
  return order
    .map(([key, direction]) => {
      const column = info.byKey.get(key)
      if (!column) {
        throw new StorexBackendSqlError('UNKNOWN_FIELD', `cannot order ${info.name} by "${key}": no such field or relationship`)
      }
      return `${dialect.quote(column.column)} ${direction === 'desc' ? 'DESC' : 'ASC'}`
    })
    .join(', ')
}

function limitClause(dialect: Dialect, options: FindOptions | undefined, params: unknown[]): string {
  const limit = options?.limit
  const skip = options?.skip
  if (limit == null && !skip) return ''
  // An offset needs a limit: SQLite takes -1 for none, the others the largest safe number.
  params.push(limit != null ? Math.max(0, Math.floor(limit)) : dialect.name === 'sqlite' ? -1 : Number.MAX_SAFE_INTEGER)
  let text = ` LIMIT ${dialect.placeholder(params.length)}`
  if (skip) {
    params.push(Math.max(0, Math.floor(skip)))
    text += ` OFFSET ${dialect.placeholder(params.length)}`
  }
  return text
}
