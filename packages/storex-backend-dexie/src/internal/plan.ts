import type { CollectionDefinition } from '@worldbrain/storex'
import type { CollectionLayout } from './schema'
import type { Condition, Operator, ParsedWhere } from './where'

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
