import Dexie, { type Collection, type Table } from 'dexie'
import type * as backend from '@worldbrain/storex/lib/types/backend.js'
import { prepareWhere } from './objects'
import { planQuery, type KeyRange, type Plan } from './plan'
import type { Store } from './store'
import { matches, parseWhere, sortObjects, type ParsedWhere } from './where'

/** A query as the reading code takes it: the where parsed, the order resolved. */
export interface ExecutionOptions {
  where: ParsedWhere
  order: Array<[string, 'asc' | 'desc']>
  limit?: number
  skip?: number
  ignoreCase: ReadonlySet<string>
}

export async function execution(store: Store, collection: string, where: any, findOptions: backend.FindManyOptions = {}): Promise<ExecutionOptions> {
  const info = store.info(collection)
  const order = (findOptions.order ?? []).map(([field, direction]) => [field, direction === 'desc' ? 'desc' : 'asc'] as [string, 'asc' | 'desc'])
  const [first] = order
  if (findOptions.reverse && !first && info.pk) order.push([info.pk, 'desc'])
  else if (findOptions.reverse && first) order[0] = [first[0], first[1] === 'desc' ? 'asc' : 'desc']
  return {
    where: parseWhere(await prepareWhere(info, where), collection),
    order,
    ...(findOptions.limit ? { limit: findOptions.limit } : {}),
    ...(findOptions.skip ? { skip: findOptions.skip } : {}),
    ignoreCase: new Set(findOptions.ignoreCase ?? []),
  }
}

/** True when the where has no conditions at all. */
export function matchesEverything(where: ParsedWhere): boolean {
  return where.fields.size === 0 && !where.or.length && !where.and.length
}

/** Objects as stored (not cleaned for reading), filtered, ordered, skipped and limited. */
export async function rawFind(store: Store, collection: string, execution: ExecutionOptions): Promise<any[]> {
  const info = store.info(collection)
  const table = store.table(collection)
  const { where, order, limit, skip = 0, ignoreCase } = execution
  const plan = planQuery({ where, layout: info.layout, definition: info.definition, order, ...(limit ? { limit } : {}), ignoreCase })
  const filter = plan.covered ? null : (object: any) => matches(object, where, ignoreCase)
  let objects: any[]
  const keys = keysOf(plan)
  if (!Dexie.currentTransaction && keys.length > 1) {
    // Many keys outside a transaction: one read-only IndexedDB transaction with a getAll per key,
    // without Dexie's per-request machinery (the sync log's `$in` lookups).
    objects = await getAllByKeys(store.db, collection, plan.kind === 'index' ? plan.index : null, keys)
    if (filter) objects = objects.filter(filter)
  } else if (plan.kind === 'get') {
    const [onlyKey] = plan.keys
    const found = plan.keys.length === 1 ? [await table.get(onlyKey as any)] : await table.bulkGet(plan.keys as any[])
    objects = found.filter((object) => object !== undefined && (!filter || filter(object)))
  } else if (plan.kind === 'index' && plan.range.type === 'anyOf') {
    // One getAll per value (requests in parallel) instead of a cursor jumping between values.
    const index = plan.index
    const parts = await Promise.all(keys.map((value) => table.where(index).equals(value as any).toArray()))
    objects = parts.flat()
    if (filter) objects = objects.filter(filter)
  } else {
    let coll = plan.kind === 'index' ? rangeCollection(table, plan.index, plan.range) : table.toCollection()
    if (plan.kind === 'index' && plan.ordered && plan.reverse) coll = coll.reverse()
    const inOrder = (plan.ordered && order.length > 0) || order.length === 0
    if (inOrder && (filter ? limit : true)) {
      // The range is read in the wanted order and stops at the limit: with a filter through a
      // cursor, without one (covered) with getAll(range, count).
      if (filter) coll = coll.filter(filter)
      if (skip) coll = coll.offset(skip)
      if (limit) coll = coll.limit(limit)
      return coll.toArray()
    }
    // The whole range in one getAll, filtered here (a cursor costs a request per object).
    objects = await coll.toArray()
    if (filter) objects = objects.filter(filter)
  }
  if (order.length) sortObjects(objects, order)
  if (skip || limit) objects = objects.slice(skip, limit ? skip + limit : undefined)
  return objects
}

/** How many objects match: counted by IndexedDB when the where is empty or one equality on an index. */
export async function countMatching(store: Store, collection: string, execution: ExecutionOptions): Promise<number> {
  const { where, ignoreCase } = execution
  if (matchesEverything(where)) {
    return store.table(collection).count()
  }
  const info = store.info(collection)
  const plan = planQuery({ where, layout: info.layout, definition: info.definition, order: [], ignoreCase })
  const onlyField = where.fields.size === 1 && !where.or.length && !where.and.length
  if (plan.kind === 'index' && plan.range.type === 'equals' && onlyField && !ignoreCase.size) {
    const [field, conditions] = [...where.fields][0]!
    if (plan.index === field && conditions.length === 1) return rangeCollection(store.table(collection), plan.index, plan.range).count()
  }
  return (await rawFind(store, collection, execution)).length
}

function rangeCollection(table: Table<any, any>, index: string, range: KeyRange): Collection<any, any> {
  if (range.type === 'all') return index === ':id' ? table.toCollection() : table.orderBy(index)
  const clause = table.where(index)
  if (range.type === 'equals') return clause.equals(range.value as any)
  if (range.type === 'anyOf') return clause.anyOf(range.values as any[])
  const lower = range.lower === undefined ? Dexie.minKey : range.lower
  const upper = range.upper === undefined ? Dexie.maxKey : range.upper
  return clause.between(lower as any, upper as any, !range.lowerOpen, !range.upperOpen)
}

/** The keys a plan reads one by one (primary keys, or `$in` values of an index), else none. */
function keysOf(plan: Plan): unknown[] {
  if (plan.kind === 'get') return plan.keys
  if (plan.kind === 'index' && plan.range.type === 'anyOf') return [...new Set(plan.range.values)]
  return []
}

/** Objects whose primary key (index null) or `index` key is one of `keys`, read in one read-only transaction. */
async function getAllByKeys(db: Dexie, collection: string, index: string | null, keys: unknown[]): Promise<any[]> {
  if (!db.isOpen()) await db.open()
  const database = db.backendDB()
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(collection, 'readonly')
    const store = transaction.objectStore(collection)
    const source: IDBObjectStore | IDBIndex = index && index !== ':id' ? store.index(index) : store
    const found: any[] = []
    for (const key of keys) {
      const request = source.getAll(key as IDBValidKey)
      request.onsuccess = () => {
        for (const object of request.result) found.push(object)
      }
    }
    transaction.oncomplete = () => resolve(found)
    transaction.onerror = transaction.onabort = () => reject(transaction.error)
  })
}
