import { StorexBackendDexieError } from '../errors'

export type Operator = 'eq' | 'ne' | 'in' | 'nin' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists'

export interface Condition {
  op: Operator
  value: unknown
}

/** A parsed `where`: conditions per field (all must hold), plus `$or`/`$and` groups matched in JavaScript. */
export interface ParsedWhere {
  fields: Map<string, Condition[]>
  or: ParsedWhere[][]
  and: ParsedWhere[]
}

const OPERATORS: Record<string, Operator> = {
  $eq: 'eq',
  $ne: 'ne',
  $in: 'in',
  $nin: 'nin',
  $gt: 'gt',
  $gte: 'gte',
  $lt: 'lt',
  $lte: 'lte',
  $exists: 'exists',
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)

export function parseWhere(where: unknown, collection: string): ParsedWhere {
  const parsed: ParsedWhere = { fields: new Map(), or: [], and: [] }
  if (where == null) return parsed
  if (!isPlainObject(where)) {
    throw new StorexBackendDexieError('UNSUPPORTED_QUERY', `the where of a query on '${collection}' must be an object of field conditions, got ${describe(where)}.`)
  }
  for (const [key, value] of Object.entries(where)) {
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(value)) {
        throw new StorexBackendDexieError('UNSUPPORTED_QUERY', `${key} in a query on '${collection}' takes an array of where objects.`)
      }
      const parts = value.map((part) => parseWhere(part, collection))
      if (key === '$or') parsed.or.push(parts)
      else parsed.and.push(...parts)
      continue
    }
    if (key.startsWith('$')) {
      throw new StorexBackendDexieError(
        'UNSUPPORTED_QUERY',
        `unsupported top-level operator ${key} in a query on '${collection}'. Supported: field conditions, $and, $or.`,
      )
    }
    if (value === undefined) continue
    const conditions: Condition[] = []
    if (isPlainObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((name) => name.startsWith('$'))) {
      for (const [name, operand] of Object.entries(value)) {
        const op = OPERATORS[name]
        if (!op) {
          throw new StorexBackendDexieError(
            'UNSUPPORTED_QUERY',
            `unsupported operator ${name} on '${collection}.${key}'. Supported: ${Object.keys(OPERATORS).join(', ')}.`,
          )
        }
        if ((op === 'in' || op === 'nin') && !Array.isArray(operand)) {
          throw new StorexBackendDexieError('UNSUPPORTED_QUERY', `${name} on '${collection}.${key}' takes an array, got ${describe(operand)}.`)
        }
        conditions.push({ op, value: operand })
      }
    } else {
      conditions.push({ op: 'eq', value })
    }
    parsed.fields.set(key, [...(parsed.fields.get(key) ?? []), ...conditions])
  }
  return parsed
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

// ---------------------------------------------------------------------------
// Matching and sorting in JavaScript (every plan that an index does not cover is filtered by it).

const comparable = (value: unknown): unknown => (value instanceof Date ? value.getTime() : value)

/** -1/0/1 for values of one kind (numbers and dates, strings), NaN otherwise. */
export function compareValues(a: unknown, b: unknown): number {
  const x = comparable(a)
  const y = comparable(b)
  if ((typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string')) {
    return x < y ? -1 : x > y ? 1 : 0
  }
  return Number.NaN
}

export function valuesEqual(stored: unknown, wanted: unknown, ignoreCase = false): boolean {
  if (wanted === null || wanted === undefined) return stored === null || stored === undefined
  if (Array.isArray(stored) && !Array.isArray(wanted)) return stored.some((item) => valuesEqual(item, wanted, ignoreCase))
  if (ignoreCase && typeof stored === 'string' && typeof wanted === 'string') return stored.toLowerCase() === wanted.toLowerCase()
  if (stored instanceof Date || wanted instanceof Date) return compareValues(stored, wanted) === 0
  if (typeof stored !== 'object' || typeof wanted !== 'object' || stored === null) return stored === wanted
  if (Array.isArray(stored) !== Array.isArray(wanted)) return false
  const storedKeys = Object.keys(stored)
  const wantedKeys = Object.keys(wanted)
  return (
    storedKeys.length === wantedKeys.length &&
    wantedKeys.every((key) => valuesEqual((stored as any)[key], (wanted as any)[key], ignoreCase))
  )
}

function matchesCondition(stored: unknown, condition: Condition, ignoreCase: boolean): boolean {
  switch (condition.op) {
    case 'eq':
      return valuesEqual(stored, condition.value, ignoreCase)
    case 'ne':
      return !valuesEqual(stored, condition.value, ignoreCase)
    case 'in':
      return (condition.value as unknown[]).some((value) => valuesEqual(stored, value, ignoreCase))
    case 'nin':
      return !(condition.value as unknown[]).some((value) => valuesEqual(stored, value, ignoreCase))
    case 'exists':
      return (stored !== undefined && stored !== null) === Boolean(condition.value)
    default: {
      const compared = compareValues(stored, condition.value)
      if (Number.isNaN(compared)) return false
      if (condition.op === 'gt') return compared > 0
      if (condition.op === 'gte') return compared >= 0
      if (condition.op === 'lt') return compared < 0
      return compared <= 0
    }
  }
}

export function matches(object: any, where: ParsedWhere, ignoreCase: ReadonlySet<string> = new Set()): boolean {
  for (const [field, conditions] of where.fields) {
    const stored = object[field]
    for (const condition of conditions) {
      if (!matchesCondition(stored, condition, ignoreCase.has(field))) return false
    }
  }
  for (const part of where.and) {
    if (!matches(object, part, ignoreCase)) return false
  }
  for (const alternatives of where.or) {
    if (!alternatives.some((part) => matches(object, part, ignoreCase))) return false
  }
  return true
}

/** Sorts in place by the order fields; missing values first, like IndexedDB's key order puts nothing before anything. */
export function sortObjects(objects: any[], order: Array<[string, 'asc' | 'desc']>): void {
  objects.sort((a, b) => {
    for (const [field, direction] of order) {
      const x = a[field]
      const y = b[field]
      let result: number
      if (x === undefined || x === null) result = y === undefined || y === null ? 0 : -1
      else if (y === undefined || y === null) result = 1
      else {
        result = compareValues(x, y)
        if (Number.isNaN(result)) result = String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0
      }
      if (result !== 0) return direction === 'desc' ? -result : result
    }
    return 0
  })
}
