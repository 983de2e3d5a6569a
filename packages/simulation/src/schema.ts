import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import { getPkFields } from '@storex-sync/client-sync-log'
import stringify from './internal/stable-stringify'
import { Random } from './internal/random'
import { SimulationError } from './errors'

/** The collections a simulation registers on every device, and which of them are synced. */
export interface SimulationSchema {
  /** Collection definitions as for `storageManager.registry.registerCollections()`. */
  collections: Record<string, CollectionDefinition>
  /**
   * The synced collections (default: all). Each needs a single `auto-pk` pk
   * field, so custom-pk can give new objects string ids.
   */
  syncedCollections?: string[]
}

/**
 * The schema used when you pass none: two synced collections covering every
 * field type the sync must carry (text, numbers, booleans, dates, json), and
 * one device-local collection that must never travel.
 */
export const defaultSimulationSchema: SimulationSchema = {
  collections: {
    note: {
      version: new Date('2024-01-01'),
      fields: {
        title: { type: 'string' },
        body: { type: 'text', optional: true },
        rank: { type: 'int', optional: true },
        score: { type: 'float', optional: true },
        pinned: { type: 'boolean', optional: true },
        dueWhen: { type: 'datetime', optional: true },
        meta: { type: 'json', optional: true },
      },
    },
    label: {
      version: new Date('2024-01-01'),
      fields: {
        name: { type: 'string' },
        color: { type: 'string', optional: true },
        uses: { type: 'int', optional: true },
      },
    },
    draft: {
      version: new Date('2024-01-01'),
      fields: {
        text: { type: 'string' },
      },
    },
  },
  syncedCollections: ['note', 'label'],
}

/** Values from small pools, so that updates and deletes by query match several objects. */
const STRINGS = ['alpha', 'beta', 'gamma', 'delta', '', 'ünïcödé ✓', 'it\'s "quoted"', 'a\nb']
const INTS = [0, 1, 2, 3, -7, 2_147_483_647]
const FLOATS = [0, 1.5, -2.25, 0.1, 1e10, 3.14159]
const QUERYABLE_TYPES = new Set(['string', 'int', 'boolean'])
const SUPPORTED_TYPES = new Set(['string', 'text', 'int', 'float', 'boolean', 'datetime', 'json', 'auto-pk'])

export function syncedCollectionsOf(schema: SimulationSchema): string[] {
  return schema.syncedCollections ?? Object.keys(schema.collections)
}

/** Throws a SimulationError naming what in a schema the simulation cannot drive. */
export function validateSimulationSchema(schema: SimulationSchema): void {
  const synced = syncedCollectionsOf(schema)
  if (!synced.length) {
    throw new SimulationError('UNSUPPORTED_SCHEMA', 'the schema has no synced collection; list at least one in syncedCollections.')
  }
  for (const name of synced) {
    const definition = schema.collections[name]
    if (!definition) {
      throw new SimulationError('UNSUPPORTED_SCHEMA', `syncedCollections names '${name}', which is not in collections. Add its definition or remove it.`)
    }
    const pkIndex = definition.pkIndex ?? 'id'
    if (typeof pkIndex !== 'string' || (definition.fields[pkIndex] && definition.fields[pkIndex]!.type !== 'auto-pk')) {
      throw new SimulationError(
        'UNSUPPORTED_SCHEMA',
        `collection '${name}' must have a single auto-pk pk field (custom-pk gives new objects string ids); its pkIndex is ${JSON.stringify(pkIndex)}.`,
      )
    }
    for (const [field, fieldDefinition] of Object.entries(definition.fields)) {
      if (!SUPPORTED_TYPES.has(fieldDefinition.type)) {
        throw new SimulationError(
          'UNSUPPORTED_SCHEMA',
          `field ${name}.${field} has type '${fieldDefinition.type}', which the simulation cannot generate values for (supported: ${[...SUPPORTED_TYPES].join(', ')}). Leave it out of the simulated schema.`,
        )
      }
    }
    if ((definition as { relationships?: unknown[] }).relationships?.length) {
      throw new SimulationError('UNSUPPORTED_SCHEMA', `collection '${name}' has relationships; the simulation drives flat collections only.`)
    }
  }
}

/** The writable (non-pk) fields of a collection with their definitions. */
export function dataFields(registry: StorageRegistry, collection: string): Array<[string, { type: string; optional?: boolean }]> {
  const pkFields = new Set(getPkFields(registry, collection))
  const fields = registry.collections[collection]!.fields as Record<string, { type: string; optional?: boolean }>
  return Object.entries(fields).filter(([field, definition]) => !pkFields.has(field) && definition.type !== 'auto-pk')
}

export function randomFieldValue(random: Random, type: string): unknown {
  switch (type) {
    case 'string':
      return random.pick(STRINGS)
    case 'text':
      return random.chance(0.5) ? random.pick(STRINGS) : `text ${random.int(0, 1_000_000)} ${'x'.repeat(random.int(0, 40))}`
    case 'int':
      return random.chance(0.7) ? random.pick(INTS) : random.int(-1_000_000, 1_000_000)
    case 'float':
      return random.chance(0.7) ? random.pick(FLOATS) : random.int(-1_000_000, 1_000_000) / 64
    case 'boolean':
      return random.chance(0.5)
    case 'datetime':
      return new Date(1_600_000_000_000 + random.int(0, 400_000_000) * 1_000)
    case 'json':
      return random.chance(0.3)
        ? [random.pick(STRINGS), random.int(0, 9)]
        : { kind: random.pick(STRINGS), n: random.int(0, 99), nested: { ok: random.chance(0.5), list: [random.int(0, 3)] } }
    default:
      throw new SimulationError('UNSUPPORTED_SCHEMA', `cannot generate a value of type '${type}'.`)
  }
}

/** All fields a new object needs (required ones always, optional ones sometimes), from a step's value seed. */
export function randomCreateValues(registry: StorageRegistry, collection: string, seed: number): Record<string, unknown> {
  const random = new Random(seed)
  const values: Record<string, unknown> = {}
  for (const [field, definition] of dataFields(registry, collection)) {
    if (!definition.optional || random.chance(0.6)) {
      values[field] = randomFieldValue(random, definition.type)
    }
  }
  return values
}

/** One to three changed fields, from a step's value seed; optional fields are sometimes cleared (null). */
export function randomUpdateValues(registry: StorageRegistry, collection: string, seed: number): Record<string, unknown> {
  const random = new Random(seed)
  const fields = dataFields(registry, collection)
  const count = Math.min(fields.length, random.int(1, 3))
  const updates: Record<string, unknown> = {}
  const remaining = [...fields]
  for (let index = 0; index < count; index += 1) {
    const [field, definition] = remaining.splice(random.int(0, remaining.length - 1), 1)[0]!
    updates[field] = definition.optional && random.chance(0.1) ? null : randomFieldValue(random, definition.type)
  }
  return updates
}

/** A `where` on one queryable field (string, int, boolean) with a pooled value, or null if the collection has none. */
export function randomWhere(registry: StorageRegistry, collection: string, seed: number): Record<string, unknown> | null {
  const random = new Random(seed)
  const candidates = dataFields(registry, collection).filter(([, definition]) => QUERYABLE_TYPES.has(definition.type) && !definition.optional)
  if (!candidates.length) {
    return null
  }
  const [field, definition] = random.pick(candidates)
  const value = definition.type === 'string' ? random.pick(STRINGS.slice(0, 5)) : definition.type === 'int' ? random.pick(INTS.slice(0, 4)) : random.chance(0.5)
  return { [field]: value }
}

/**
 * An object in a form every backend agrees on, for comparisons: absent,
 * undefined and null optional fields are left out (a boolean counts as false,
 * as TypeORM reads a missing one), dates become ms numbers, json becomes
 * stable text.
 */
export function normalizeObject(registry: StorageRegistry, collection: string, object: Record<string, unknown>): Record<string, unknown> {
  const fields = registry.collections[collection]!.fields as Record<string, { type: string }>
  const normalized: Record<string, unknown> = {}
  for (const [field, definition] of Object.entries(fields)) {
    let value = object[field]
    if (definition.type === 'boolean') {
      value = Boolean(value)
    }
    if (value === null || value === undefined) {
      continue
    }
    if (definition.type === 'datetime') {
      value = value instanceof Date ? value.getTime() : new Date(value as string).getTime()
    } else if (definition.type === 'json') {
      value = stringify(typeof value === 'string' ? safeParse(value) : value)
    }
    normalized[field] = value
  }
  return normalized
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
