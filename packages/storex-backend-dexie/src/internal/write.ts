// Updates and deletes, in two steps: prepare* does everything asynchronous (value preparation, where
// parsing) before the transaction, run* only Dexie's requests inside it. Inside a transaction only
// Dexie's promises may be awaited (Dexie follows its transaction across native awaits for a few ticks only).
import { StorexBackendDexieError } from '../errors'
import { prepareWrite } from './objects'
import { planQuery } from './plan'
import { execution, rawFind, type ExecutionOptions } from './read'
import type { Store } from './store'

export interface PreparedUpdate {
  kind: 'update'
  collection: string
  changes: Record<string, unknown>
  execution: ExecutionOptions
}

export interface PreparedDelete {
  kind: 'delete'
  collection: string
  execution: ExecutionOptions
  /** Set when the where is only the primary key: delete these keys without reading. */
  keys?: unknown[]
}

export async function prepareUpdate(store: Store, collection: string, where: any, updates: any): Promise<PreparedUpdate> {
  const info = store.info(collection)
  const changes = { ...updates }
  await prepareWrite(store.options, info, changes, 'update')
  return { kind: 'update', collection, changes, execution: await execution(store, collection, where) }
}

export async function prepareDelete(store: Store, collection: string, where: any, limit?: number): Promise<PreparedDelete> {
  const info = store.info(collection)
  const prepared = await execution(store, collection, where, limit ? { limit } : {})
  const { where: parsed, ignoreCase } = prepared
  const pkConditions = info.pk && !limit && parsed.fields.size === 1 && !parsed.or.length && !parsed.and.length ? parsed.fields.get(info.pk) : undefined
  if (pkConditions?.length === 1) {
    const plan = planQuery({ where: parsed, layout: info.layout, definition: info.definition, order: [], ignoreCase })
    if (plan.kind === 'get') return { kind: 'delete', collection, execution: prepared, keys: plan.keys }
  }
  return { kind: 'delete', collection, execution: prepared }
}

export async function runUpdate(store: Store, step: PreparedUpdate): Promise<void> {
  const objects = await rawFind(store, step.collection, step.execution)
  if (!objects.length) return
  for (const object of objects) applyUpdates(object, step.changes)
  await store.table(step.collection).bulkPut(objects)
}

export async function runDelete(store: Store, step: PreparedDelete): Promise<void> {
  const table = store.table(step.collection)
  if (step.keys) {
    await table.bulkDelete(step.keys)
    return
  }
  const { keyOf } = store.info(step.collection)
  const objects = await rawFind(store, step.collection, step.execution)
  if (objects.length) await table.bulkDelete(objects.map(keyOf))
}

/** Field updates: plain values, and the Mongo-style $inc, $set, $mul, $unset 0.3.1 accepted. */
function applyUpdates(object: any, updates: Record<string, unknown>) {
  for (const [key, value] of Object.entries(updates)) {
    if (key === '$inc') for (const [field, by] of Object.entries(value as object)) object[field] += by
    else if (key === '$set') Object.assign(object, value)
    else if (key === '$mul') for (const [field, by] of Object.entries(value as object)) object[field] *= by
    else if (key === '$unset') for (const field of Object.keys(value as object)) object[field] = undefined
    else if (key.startsWith('$')) {
      throw new StorexBackendDexieError('UNSUPPORTED_QUERY', `unsupported update operator ${key}; use plain field values, $inc, $set, $mul or $unset.`)
    } else object[key] = value
  }
}
