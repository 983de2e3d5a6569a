import type { CollectionDefinition } from '@worldbrain/storex'
import { StorexBackendDexieError } from '../errors'
import type { CollectionLayout } from './schema'

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
// Matching in JavaScript (every plan's result is filtered by it).

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

// ---------------------------------------------------------------------------
// Planning: which key range of which index to read.

/** True for values IndexedDB accepts as keys (so an index holds them). */
export function isValidKey(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isNaN(value)
  if (typeof value === 'string') return true
  if (value instanceof Date) return !Number.isNaN(value.getTime())
  if (Array.isArray(value)) return value.every(isValidKey)
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value)
}

export interface Bounds {
  lower?: unknown
  lowerOpen: boolean
  upper?: unknown
  upperOpen: boolean
}

export type KeyRange =
  | { type: 'all' }
  | { type: 'equals'; value: unknown }
  | { type: 'anyOf'; values: unknown[] }
  | ({ type: 'bounds' } & Bounds)

/**
 * `covered`: the key range selects exactly the objects the where matches, so
 * no JavaScript filter is needed and IndexedDB's getAll (with its count) can
 * read them in one request instead of a cursor step per object.
 */
export type Plan =
  | { kind: 'get'; keys: unknown[]; covered: boolean }
  | { kind: 'index'; index: string; range: KeyRange; ordered: boolean; reverse: boolean; covered: boolean; describe: string }
  | { kind: 'scan'; ordered: false; covered: boolean; describe: string }

/** Field types whose values are always valid keys, so an index on a required field of that type holds every object. */
const KEY_TYPES = new Set(['string', 'int', 'float', 'timestamp', 'datetime', 'auto-pk', 'random-key', 'url', 'media'])

function equalityValue(conditions: Condition[] | undefined, ignoreCase: boolean): { value: unknown } | null {
  if (!conditions || ignoreCase) return null
  const eq = conditions.find((condition) => condition.op === 'eq' && isValidKey(condition.value))
  return eq ? { value: eq.value } : null
}

function boundsOf(conditions: Condition[] | undefined, ignoreCase: boolean): Bounds | null {
  if (!conditions || ignoreCase) return null
  const bounds: Bounds = { lowerOpen: false, upperOpen: false }
  let found = false
  for (const condition of conditions) {
    if (!isValidKey(condition.value)) continue
    if (condition.op === 'gt' || condition.op === 'gte') {
      bounds.lower = condition.value
      bounds.lowerOpen = condition.op === 'gt'
      found = true
    } else if (condition.op === 'lt' || condition.op === 'lte') {
      bounds.upper = condition.value
      bounds.upperOpen = condition.op === 'lt'
      found = true
    }
  }
  return found ? bounds : null
}

/** At most one lower and one upper bound, all valid keys: the key range is exactly the conditions. */
function exactBounds(conditions: Condition[]): boolean {
  const lower = conditions.filter((condition) => condition.op === 'gt' || condition.op === 'gte').length
  const upper = conditions.filter((condition) => condition.op === 'lt' || condition.op === 'lte').length
  return lower <= 1 && upper <= 1 && conditions.every((condition) => isValidKey(condition.value))
}

function inValues(conditions: Condition[] | undefined, ignoreCase: boolean): unknown[] | null {
  if (!conditions || ignoreCase) return null
  const condition = conditions.find((candidate) => candidate.op === 'in')
  const values = condition?.value as unknown[] | undefined
  return values && values.every(isValidKey) ? values : null
}

/**
 * Picks the best index for a query. In order of preference: primary keys
 * (get/bulkGet); a compound index whose leading fields are equalities and
 * whose next field is the order field (so `limit` stops the read early); the
 * index with the most equalities; `$in` on an index; the order field's index
 * when there is a limit; a range on an index; a full scan.
 */
export function planQuery(options: {
  where: ParsedWhere
  layout: CollectionLayout
  definition: CollectionDefinition
  order: Array<[string, 'asc' | 'desc']>
  limit?: number
  ignoreCase: ReadonlySet<string>
}): Plan {
  const { where, layout, definition, order, limit, ignoreCase } = options
  const conditionsOf = (field: string) => where.fields.get(field)
  const isIgnored = (field: string) => ignoreCase.has(field)

  // 1. Primary key equality or $in.
  const simple = !where.or.length && !where.and.length && ignoreCase.size === 0
  /** True when the where has conditions on exactly these fields, one each, of these operators. */
  const onlyOn = (fields: string[], operators: Operator[][]) =>
    simple &&
    where.fields.size === fields.length &&
    fields.every((field, position) => {
      const conditions = where.fields.get(field)
      return !!conditions && conditions.length >= 1 && conditions.every((condition) => operators[position]!.includes(condition.op))
        && (operators[position]!.includes('eq') || operators[position]!.includes('in') ? conditions.length === 1 : true)
    })
  if (typeof layout.pk === 'string') {
    const eq = equalityValue(conditionsOf(layout.pk), isIgnored(layout.pk))
    if (eq) return { kind: 'get', keys: [eq.value], covered: onlyOn([layout.pk], [['eq']]) }
    const values = inValues(conditionsOf(layout.pk), isIgnored(layout.pk))
    if (values) return { kind: 'get', keys: [...new Set(values)], covered: onlyOn([layout.pk], [['in']]) }
  }

  const orderField = order.length === 1 ? order[0]![0] : undefined
  const reverse = order.length === 1 && order[0]![1] === 'desc'
  const fieldHoldsEveryObject = (field: string) => {
    if (field === layout.pk) return true
    const definitionField = definition.fields[field]
    return !!definitionField && !definitionField.optional && KEY_TYPES.has(definitionField.type as string)
  }

  let best: { score: number; plan: Plan } = { score: 0, plan: { kind: 'scan', ordered: false, covered: where.fields.size === 0 && simple, describe: 'full scan' } }
  const offer = (score: number, plan: Plan) => {
    if (score > best.score) best = { score, plan }
  }

  // A compound primary key plans like a compound index (Dexie calls the primary key ':id').
  const indices = Array.isArray(layout.pk) ? [{ name: ':id', fields: layout.pk, multiEntry: false }, ...layout.indices] : layout.indices
  for (const index of indices) {
    if (index.multiEntry) {
      const eq = equalityValue(conditionsOf(index.fields[0]!), isIgnored(index.fields[0]!))
      if (eq) {
        offer(100, {
          kind: 'index',
          index: index.name,
          range: { type: 'equals', value: eq.value },
          ordered: false,
          reverse: false,
          covered: onlyOn([index.fields[0]!], [['eq']]),
          describe: `${index.name} = value`,
        })
      }
      continue
    }
    // Leading equalities.
    const prefix: unknown[] = []
    for (const field of index.fields) {
      const eq = equalityValue(conditionsOf(field), isIgnored(field))
      if (!eq) break
      prefix.push(eq.value)
    }
    const compound = index.fields.length > 1
    if (prefix.length === index.fields.length) {
      const ordered = !orderField || orderField === index.fields.at(-1) || index.fields.includes(orderField)
      offer((ordered && orderField ? 1000 : 100) + prefix.length, {
        kind: 'index',
        index: index.name,
        range: { type: 'equals', value: compound ? prefix : prefix[0] },
        ordered,
        reverse,
        covered: onlyOn(index.fields, index.fields.map(() => ['eq'])),
        describe: `${index.name} = value`,
      })
      continue
    }
    const next = index.fields[prefix.length]!
    const nextBounds = boundsOf(conditionsOf(next), isIgnored(next))
    if (prefix.length > 0) {
      // Compound index: equalities on its first fields, a range (maybe everything) on the next one.
      const lowerRest = nextBounds && nextBounds.lower !== undefined ? [nextBounds.lower] : [-Infinity]
      const upperRest = nextBounds && nextBounds.upper !== undefined ? [nextBounds.upper] : [[[]]]
      const pad = (values: unknown[], filler: unknown) => [...values, ...Array(index.fields.length - values.length).fill(filler)]
      const range: KeyRange = {
        type: 'bounds',
        lower: pad([...prefix, ...lowerRest], -Infinity),
        lowerOpen: false,
        upper: pad([...prefix, ...upperRest], [[]]),
        upperOpen: false,
      }
      const ordered = next === orderField && fieldHoldsEveryObject(next)
      offer((ordered ? 1000 : 100) + prefix.length + (nextBounds ? 0.5 : 0), {
        kind: 'index',
        index: index.name,
        range,
        ordered,
        reverse,
        // Compound bounds are closed, so only gte/lte on the next field (or nothing) are exact.
        covered: onlyOn(
          [...index.fields.slice(0, prefix.length), ...(nextBounds ? [next] : [])],
          [...prefix.map((): Operator[] => ['eq']), ...(nextBounds ? [['gte', 'lte'] as Operator[]] : [])],
        ),
        describe: `${index.name} from [${prefix.length} equalities, ${nextBounds ? 'range' : 'any'}]`,
      })
      continue
    }
    if (compound) continue
    const field = index.fields[0]!
    const values = inValues(conditionsOf(field), isIgnored(field))
    if (values) {
      offer(90, {
        kind: 'index',
        index: index.name,
        range: { type: 'anyOf', values },
        ordered: false,
        reverse: false,
        covered: onlyOn([field], [['in']]),
        describe: `${index.name} in values`,
      })
    }
    const ordersBy = field === orderField && fieldHoldsEveryObject(field)
    if (nextBounds) {
      offer(ordersBy && limit ? 60 : 40, {
        kind: 'index',
        index: index.name,
        range: { type: 'bounds', ...nextBounds },
        ordered: field === orderField,
        reverse,
        covered: onlyOn([field], [['gt', 'gte', 'lt', 'lte']]) && exactBounds(conditionsOf(field)!),
        describe: `${index.name} range`,
      })
    } else if (ordersBy) {
      offer(limit ? 50 : 10, {
        kind: 'index',
        index: index.name,
        range: { type: 'all' },
        ordered: true,
        reverse,
        covered: where.fields.size === 0 && simple,
        describe: `${index.name} in order`,
      })
    }
  }
  // The primary key as the order (every object is in it).
  if (orderField && orderField === layout.pk) {
    const bounds = boundsOf(conditionsOf(orderField), isIgnored(orderField))
    offer(limit ? 55 : 10, {
      kind: 'index',
      index: ':id',
      range: bounds ? { type: 'bounds', ...bounds } : { type: 'all' },
      ordered: true,
      reverse,
      covered: bounds ? onlyOn([orderField], [['gt', 'gte', 'lt', 'lte']]) && exactBounds(conditionsOf(orderField)!) : where.fields.size === 0 && simple,
      describe: 'primary key in order',
    })
  }
  return best.plan
}
