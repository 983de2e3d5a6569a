import { StorexBackendSqlError } from '../errors'
import type { CollectionInfo, ColumnInfo } from './schema'
import type { Dialect } from './dialect'
import { encodeValue } from './values'

const COMPARISONS: Record<string, string> = {
  $eq: '=',
  $ne: '<>',
  $gt: '>',
  $gte: '>=',
  $lt: '<',
  $lte: '<=',
}

function columnFor(info: CollectionInfo, key: string): ColumnInfo {
  const column = info.byKey.get(key)
  if (!column) {
    throw new StorexBackendSqlError(
      'UNKNOWN_FIELD',
      `collection ${info.name} has no field or relationship "${key}" to query by; use one declared in the registry`,
    )
  }
  return column
}

/**
 * Compiles a Storex where object into SQL, pushing values onto `params`.
 * Returns '' for an empty where (no WHERE clause).
 */
export function compileWhere(
  where: Record<string, any> | null | undefined,
  info: CollectionInfo,
  dialect: Dialect,
  params: unknown[],
  ignoreCase?: string[],
): string {
  if (!where) return ''
  const parts: string[] = []
  for (const key in where) {
    const condition = where[key]
    if (condition === undefined) continue
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(condition) || condition.length === 0) {
        parts.push(key === '$or' ? '1 = 0' : '1 = 1')
        continue
      }
      const sub = condition.map((item: any) => compileWhere(item, info, dialect, params, ignoreCase) || '1 = 1')
      parts.push(`(${sub.join(key === '$or' ? ' OR ' : ' AND ')})`)
      continue
    }
    const column = columnFor(info, key)
    let lhs = dialect.quote(column.column)
    const lower = !!ignoreCase && ignoreCase.includes(key)
    if (lower) lhs = `LOWER(${lhs})`
    const placeholder = (value: unknown) => {
      params.push(encodeValue(column, value))
      const p = dialect.placeholder(params.length)
      return lower ? `LOWER(${p})` : p
    }
    if (condition !== null && typeof condition === 'object' && !(condition instanceof Date) && !Array.isArray(condition) && !Buffer.isBuffer(condition)) {
      const operators = Object.keys(condition)
      if (operators.length === 0 || !operators.every((op) => op.startsWith('$'))) {
        // A json field compared with an object.
        parts.push(`${lhs} = ${placeholder(condition)}`)
        continue
      }
      for (const op of operators) {
        const operand = condition[op]
        const comparison = COMPARISONS[op]
        if (comparison) {
          if (operand === null || operand === undefined) {
            if (op === '$eq') parts.push(`${lhs} IS NULL`)
            else if (op === '$ne') parts.push(`${lhs} IS NOT NULL`)
            else parts.push('1 = 0')
          } else if (op === '$ne') {
            parts.push(`(${lhs} <> ${placeholder(operand)} OR ${lhs} IS NULL)`)
          } else {
            parts.push(`${lhs} ${comparison} ${placeholder(operand)}`)
          }
        } else if (op === '$in' || op === '$nin') {
          if (!Array.isArray(operand)) {
            throw new StorexBackendSqlError('BAD_QUERY', `${op} on ${info.name}.${key} needs an array, got ${typeof operand}`)
          }
          const values = operand.filter((value) => value !== null && value !== undefined)
          const hasNull = values.length !== operand.length
          let sql: string
          if (values.length === 0) {
            sql = op === '$in' ? '1 = 0' : '1 = 1'
          } else if (dialect.name === 'sqlite' && !lower && values.length > 8) {
            // One statement (and one cached prepared statement) for any length.
            params.push(JSON.stringify(values.map((value) => encodeValue(column, value))))
            sql = `${lhs} ${op === '$in' ? 'IN' : 'NOT IN'} (SELECT value FROM json_each(?))`
          } else if (dialect.name === 'postgres' && !lower && values.length > 8) {
            params.push(values.map((value) => encodeValue(column, value)))
            const p = dialect.placeholder(params.length)
            sql = op === '$in' ? `${lhs} = ANY(${p})` : `NOT (${lhs} = ANY(${p}))`
          } else {
            const list = values.map((value) => placeholder(value)).join(', ')
            sql = `${lhs} ${op === '$in' ? 'IN' : 'NOT IN'} (${list})`
          }
          if (op === '$in' && hasNull) sql = `(${sql} OR ${lhs} IS NULL)`
          else if (op === '$nin' && hasNull) sql = `(${sql} AND ${lhs} IS NOT NULL)`
          else if (op === '$nin') sql = `(${sql} OR ${lhs} IS NULL)`
          parts.push(sql)
        } else {
          throw new StorexBackendSqlError(
            'UNSUPPORTED_OPERATOR',
            `operator ${op} (on ${info.name}.${key}) is not supported; use $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $or or $and`,
          )
        }
      }
      continue
    }
    if (condition === null) {
      parts.push(`${lhs} IS NULL`)
    } else {
      parts.push(`${lhs} = ${placeholder(condition)}`)
    }
  }
  return parts.join(' AND ')
}
