import Dexie, { type Collection, type Table } from 'dexie'
import type { CollectionDefinition, OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { StorageBackend } from '@worldbrain/storex/lib/types/backend.js'
import type * as backend from '@worldbrain/storex/lib/types/backend.js'
import type { StorageBackendFeatureSupport } from '@worldbrain/storex/lib/types/backend-features.js'
import { isChildOfRelationship } from '@worldbrain/storex/lib/types/relationships.js'
import { convertCreateObjectDissectionToBatch, dissectCreateObjectOperation, setIn } from '@worldbrain/storex/lib/utils.js'
import { StorexBackendDexieError } from './errors'
import { planQuery, type KeyRange, type Plan } from './internal/plan'
import { matches, parseWhere, sortObjects, type ParsedWhere } from './internal/where'
import { getDexieHistory, getTermsIndex, parseDexieSchema, type CollectionLayout, type DexieSchemaVersion } from './internal/schema'

export type Stemmer = (text: string) => Set<string> | string[]
export type StemmerSelector = (options: { collectionName: string; fieldName: string }) => Stemmer | null
export type SchemaPatcher = (history: DexieSchemaVersion[]) => DexieSchemaVersion[]

export interface IndexedDbImplementation {
  factory: IDBFactory
  range: typeof IDBKeyRange
}

export interface DexieStorageBackendOptions {
  /** Name of the IndexedDB database (the one `@worldbrain/storex-backend-dexie` used, to keep its data). */
  dbName: string
  /** IndexedDB to use; the global `indexedDB`/`IDBKeyRange` by default (fake-indexeddb's in Node tests). */
  idbImplementation?: IndexedDbImplementation
  /** Splits indexed `text` fields into the terms stored in their `_<field>_terms` multi-entry index. */
  stemmer?: Stemmer
  /** A stemmer per collection and field (instead of `stemmer`). */
  stemmerSelector?: StemmerSelector
  /** Changes the generated Dexie schema history before Dexie sees it (as in 0.3.1). */
  schemaPatcher?: SchemaPatcher
  /** Leave optional fields that an object lacks undefined on reads instead of null (as 0.3.1's option). */
  legacyMemexCompatibility?: boolean
}

interface CollectionInfo {
  definition: CollectionDefinition
  layout: CollectionLayout
  /** The single pk field (null for compound pks: their key is the array of the fields' values). */
  pk: string | null
  /** How to get an object's IndexedDB key. */
  keyOf: (object: any) => unknown
  optionalFields: string[]
  customFields: Array<[string, any]>
  aliases: Array<{ alias: string; fieldName: string }>
  termsFields: Array<{ field: string; termsField: string }>
}

interface ExecutionOptions {
  where: ParsedWhere
  order: Array<[string, 'asc' | 'desc']>
  limit?: number
  skip?: number
  ignoreCase: ReadonlySet<string>
}

/**
 * A Storex backend on IndexedDB through Dexie 4: queries read an index range
 * (never the whole store when an index fits), `order` + `limit` on an index
 * reads only what it returns, and every `executeBatch` is one IndexedDB
 * transaction. Databases made by `@worldbrain/storex-backend-dexie` 0.3.1
 * open as they are (same schema, store, key and index names).
 */
export class DexieStorageBackend extends StorageBackend {
  override features: StorageBackendFeatureSupport = {
    count: true,
    createWithRelationships: true,
    fullTextSearch: false,
    rawCreateObjects: true,
    executeBatch: true,
    transaction: false,
    customFields: true,
    streamObjects: true,
    singleFieldSorting: true,
    resultLimiting: true,
  } as StorageBackendFeatureSupport

  private readonly options: DexieStorageBackendOptions
  private dexie?: Dexie
  private readonly collectionInfo = new Map<string, CollectionInfo>()

  constructor(options: DexieStorageBackendOptions) {
    super()
    if (!options || typeof options.dbName !== 'string' || !options.dbName) {
      throw new StorexBackendDexieError('INVALID_OPTION', 'new DexieStorageBackend({ dbName }) needs the name of the IndexedDB database.')
    }
    if (options.stemmer && options.stemmerSelector) {
      throw new StorexBackendDexieError('INVALID_OPTION', "pass either 'stemmer' or 'stemmerSelector' to DexieStorageBackend, not both.")
    }
    this.options = options
    if (options.stemmer || options.stemmerSelector) this.features.fullTextSearch = true
  }

  /**
   * The IndexedDB database's name. `@storex-sync/client-sync-log` names its
   * cross-tab locks and notifications after it, so every tab over the
   * database shares them.
   */
  get dbName(): string {
    return this.options.dbName
  }

  /** The Dexie instance (after `finishInitialization()`), for apps that need raw access. */
  get dexieInstance(): Dexie {
    return this.db
  }

  private get db(): Dexie {
    if (!this.dexie) {
      throw new StorexBackendDexieError(
        'NOT_INITIALIZED',
        'the backend is used before storageManager.finishInitialization(); register your collections and await finishInitialization() first.',
      )
    }
    return this.dexie
  }

  override configure({ registry }: { registry: StorageRegistry }) {
    super.configure({ registry })
    registry.once('initialized', () => this.initialize())
  }

  private initialize() {
    const implementation = this.options.idbImplementation ?? {
      factory: (globalThis as any).indexedDB as IDBFactory,
      range: (globalThis as any).IDBKeyRange as typeof IDBKeyRange,
    }
    if (!implementation.factory) {
      throw new StorexBackendDexieError(
        'INVALID_OPTION',
        'there is no IndexedDB here: pass idbImplementation: { factory, range } (in Node, from fake-indexeddb).',
      )
    }
    const history = getDexieHistory(this.registry)
    const patched = this.options.schemaPatcher ? this.options.schemaPatcher(history) : history
    // No query cache: Storex callers do not use liveQuery, and the cache costs on every request.
    this.dexie = new Dexie(this.options.dbName, { indexedDB: implementation.factory, IDBKeyRange: implementation.range, cache: 'disabled' })
    // Nor liveQuery's change tracking, which works out the changed key ranges of every write.
    this.dexie.unuse({ stack: 'dbcore', name: 'Observability' })
    for (const { dexieSchemaVersion, schema } of patched) {
      this.dexie.version(dexieSchemaVersion).stores(schema)
    }
    const latest = patched.at(-1)?.schema ?? {}
    for (const [name, definition] of Object.entries(this.registry.collections)) {
      const layout = parseDexieSchema(latest[name] ?? '')
      const termsFields: CollectionInfo['termsFields'] = []
      for (const index of definition.indices ?? []) {
        if (typeof index.field === 'string' && definition.fields[index.field]?.type === 'text') {
          termsFields.push({ field: index.field, termsField: index.fullTextIndexName || getTermsIndex(index.field) })
        }
      }
      this.collectionInfo.set(name, {
        definition,
        layout,
        pk: typeof layout.pk === 'string' ? layout.pk : null,
        keyOf: keyGetter(layout.pk),
        optionalFields: Object.entries(definition.fields)
          .filter(([, field]) => field.optional)
          .map(([fieldName]) => fieldName),
        customFields: Object.entries(definition.fields).filter(([, field]) => (field as any).fieldObject) as Array<[string, any]>,
        aliases: (definition.relationships ?? [])
          .filter((relationship) => isChildOfRelationship(relationship) && relationship.alias !== relationship.fieldName)
          .map((relationship: any) => ({ alias: relationship.alias, fieldName: relationship.fieldName })),
        termsFields,
      })
    }
  }

  override async migrate({ database }: { database?: string } = {}) {
    if (database) {
      throw new StorexBackendDexieError('INVALID_OPTION', 'this backend has one database per instance; create another DexieStorageBackend for another database.')
    }
  }

  override async cleanup(): Promise<void> {
    this.dexie?.close()
  }

  private info(collection: string): CollectionInfo {
    const info = this.collectionInfo.get(collection)
    if (!info) {
      void this.db
      throw new StorexBackendDexieError(
        'UNKNOWN_COLLECTION',
        `unknown collection '${collection}': register it (storageManager.registry.registerCollections) before finishInitialization().`,
      )
    }
    return info
  }

  private table(collection: string): Table<any, any> {
    this.info(collection)
    return this.db.table(collection)
  }

  // -------------------------------------------------------------------------
  // Cleaning objects on their way in and out (aliases, custom fields, terms).

  private async prepareWrite(info: CollectionInfo, object: any, purpose: 'create' | 'update') {
    for (const [fieldName, field] of info.customFields) {
      if (purpose !== 'create' && !(fieldName in object)) continue
      object[fieldName] = await field.fieldObject.prepareForStorage(object[fieldName])
    }
    for (const { field, termsField } of info.termsFields) {
      const text = object[field]
      if (!text) continue
      if (purpose === 'update' && termsField in object) continue
      const stemmer = this.options.stemmerSelector
        ? this.options.stemmerSelector({ collectionName: info.definition.name!, fieldName: field })
        : (this.options.stemmer ?? null)
      if (!stemmer) {
        throw new StorexBackendDexieError(
          'MISSING_STEMMER',
          `'${info.definition.name}.${field}' is an indexed text field: pass a stemmer (or stemmerSelector) to DexieStorageBackend to write it.`,
        )
      }
      object[termsField] = [...stemmer(text)]
    }
    this.aliasesForWrite(info, object)
  }

  private aliasesForWrite(info: CollectionInfo, object: any) {
    for (const { alias, fieldName } of info.aliases) {
      if (object[alias] !== undefined) {
        object[fieldName] = object[alias]
        delete object[alias]
      }
    }
  }

  private async prepareWhere(info: CollectionInfo, where: any): Promise<any> {
    if (!where || (!info.customFields.length && !info.aliases.length)) return where
    const copy = { ...where }
    for (const [fieldName, field] of info.customFields) {
      if (fieldName in copy) copy[fieldName] = await field.fieldObject.prepareForStorage(copy[fieldName])
    }
    this.aliasesForWrite(info, copy)
    return copy
  }

  private async prepareRead(info: CollectionInfo, object: any) {
    if (!this.options.legacyMemexCompatibility) {
      for (const field of info.optionalFields) {
        if (object[field] === undefined) object[field] = null
      }
    }
    for (const { alias, fieldName } of info.aliases) {
      object[alias] = object[fieldName]
      delete object[fieldName]
    }
    for (const [fieldName, field] of info.customFields) {
      object[fieldName] = await field.fieldObject.prepareFromStorage(object[fieldName])
    }
  }

  // -------------------------------------------------------------------------
  // Reading.

  private async execution(collection: string, where: any, findOptions: backend.FindManyOptions = {}): Promise<ExecutionOptions> {
    const info = this.info(collection)
    const order = (findOptions.order ?? []).map(([field, direction]) => [field, direction === 'desc' ? 'desc' : 'asc'] as [string, 'asc' | 'desc'])
    if (findOptions.reverse && order.length === 0 && info.pk) order.push([info.pk, 'desc'])
    else if (findOptions.reverse && order.length) order[0] = [order[0]![0], order[0]![1] === 'desc' ? 'asc' : 'desc']
    return {
      where: parseWhere(await this.prepareWhere(info, where), collection),
      order,
      ...(findOptions.limit ? { limit: findOptions.limit } : {}),
      ...(findOptions.skip ? { skip: findOptions.skip } : {}),
      ignoreCase: new Set(findOptions.ignoreCase ?? []),
    }
  }

  /** The plan the backend would use for this query (for tests and debugging). */
  explain(collection: string, where: any, findOptions: backend.FindManyOptions = {}): Plan {
    const info = this.info(collection)
    const order = (findOptions.order ?? []) as Array<[string, 'asc' | 'desc']>
    return planQuery({
      where: parseWhere(where, collection),
      layout: info.layout,
      definition: info.definition,
      order,
      ...(findOptions.limit ? { limit: findOptions.limit } : {}),
      ignoreCase: new Set(findOptions.ignoreCase ?? []),
    })
  }

  private rangeCollection(table: Table<any, any>, index: string, range: KeyRange): Collection<any, any> {
    if (range.type === 'all') return index === ':id' ? table.toCollection() : table.orderBy(index)
    const clause = table.where(index)
    if (range.type === 'equals') return clause.equals(range.value as any)
    if (range.type === 'anyOf') return clause.anyOf(range.values as any[])
    const lower = range.lower === undefined ? Dexie.minKey : range.lower
    const upper = range.upper === undefined ? Dexie.maxKey : range.upper
    return clause.between(lower as any, upper as any, !range.lowerOpen, !range.upperOpen)
  }

  /** Objects as stored (not cleaned for reading), filtered, ordered, skipped and limited. */
  private async rawFind(collection: string, execution: ExecutionOptions): Promise<any[]> {
    const info = this.info(collection)
    const table = this.table(collection)
    const { where, order, limit, skip = 0, ignoreCase } = execution
    const plan = planQuery({ where, layout: info.layout, definition: info.definition, order, ...(limit ? { limit } : {}), ignoreCase })
    const filter = plan.covered ? null : (object: any) => matches(object, where, ignoreCase)
    let objects: any[]
    const outsideTransactions = !Dexie.currentTransaction
    if (outsideTransactions && (plan.kind === 'get' || (plan.kind === 'index' && plan.range.type === 'anyOf')) && this.keysOf(plan).length > 1) {
      // Many keys outside a transaction: one read-only IndexedDB transaction with a getAll per key,
      // without Dexie's per-request machinery (the sync log's `$in` lookups).
      objects = await this.getAllByKeys(collection, plan.kind === 'get' ? null : (plan as { index: string }).index, this.keysOf(plan))
      if (filter) objects = objects.filter(filter)
    } else if (plan.kind === 'get') {
      const found = plan.keys.length === 1 ? [await table.get(plan.keys[0] as any)] : await table.bulkGet(plan.keys as any[])
      objects = found.filter((object) => object !== undefined && (!filter || filter(object)))
    } else if (plan.kind === 'index' && plan.range.type === 'anyOf') {
      // One getAll per value (requests in parallel) instead of a cursor jumping between values.
      const values = [...new Set(plan.range.values)]
      const index = plan.index
      const parts = await Promise.all(values.map((value) => table.where(index).equals(value as any).toArray()))
      objects = parts.flat()
      if (filter) objects = objects.filter(filter)
    } else {
      let coll = plan.kind === 'index' ? this.rangeCollection(table, plan.index, plan.range) : table.toCollection()
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

  private keysOf(plan: Plan): unknown[] {
    if (plan.kind === 'get') return plan.keys
    if (plan.kind === 'index' && plan.range.type === 'anyOf') return [...new Set(plan.range.values)]
    return []
  }

  /** Objects whose primary key (index null) or `index` key is one of `keys`, read in one read-only transaction. */
  private async getAllByKeys(collection: string, index: string | null, keys: unknown[]): Promise<any[]> {
    if (!this.db.isOpen()) await this.db.open()
    const database = this.db.backendDB()
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

  override async findObjects<T>(collection: string, where: any, findOptions: backend.FindManyOptions = {}): Promise<T[]> {
    const info = this.info(collection)
    const objects = await this.rawFind(collection, await this.execution(collection, where, findOptions))
    for (const object of objects) await this.prepareRead(info, object)
    return objects
  }

  override async findObject<T>(collection: string, where: any, findOptions: backend.FindSingleOptions = {}): Promise<T | null> {
    const [object] = await this.findObjects<T>(collection, where, { ...findOptions, limit: 1 })
    return object ?? null
  }

  override async countObjects(collection: string, where: any, options: backend.CountOptions = {}): Promise<number> {
    const execution = await this.execution(collection, where, options)
    if (execution.where.fields.size === 0 && !execution.where.or.length && !execution.where.and.length) {
      return this.table(collection).count()
    }
    const info = this.info(collection)
    const plan = planQuery({ where: execution.where, layout: info.layout, definition: info.definition, order: [], ignoreCase: execution.ignoreCase })
    const onlyField = execution.where.fields.size === 1 && !execution.where.or.length && !execution.where.and.length
    if (plan.kind === 'index' && plan.range.type === 'equals' && onlyField && !execution.ignoreCase.size) {
      const [field, conditions] = [...execution.where.fields][0]!
      if (plan.index === field && conditions.length === 1) return this.rangeCollection(this.table(collection), plan.index, plan.range).count()
    }
    return (await this.rawFind(collection, execution)).length
  }

  async *streamObjects<T>(collection: string): AsyncGenerator<T> {
    const info = this.info(collection)
    const table = this.table(collection)
    let last: unknown
    for (;;) {
      const coll = last === undefined ? table.orderBy(':id') : table.where(':id').above(last)
      const chunk = await coll.limit(1000).toArray()
      for (const object of chunk) {
        await this.prepareRead(info, object)
        yield object
      }
      if (chunk.length < 1000) return
      last = (await coll.limit(1000).primaryKeys()).at(-1)
    }
  }

  // -------------------------------------------------------------------------
  // Writing.

  override async createObject(collection: string, object: any, options: backend.CreateSingleOptions = {}): Promise<backend.CreateSingleResult> {
    void options
    const info = this.info(collection)
    const dissection = dissectCreateObjectOperation({ operation: 'createObject', collection, args: object }, this.registry)
    if (dissection.objects.length === 1) {
      const stored = await this.prepareCreate(info, object)
      const key = await this.table(collection).put(stored)
      if (info.pk && object[info.pk] === undefined) object[info.pk] = key
    } else {
      const batch = convertCreateObjectDissectionToBatch(dissection)
      const result = await this.runBatch(batch)
      for (const step of dissection.objects) {
        const pk = this.info(step.collection).pk
        if (pk) setIn(object, [...step.path, pk], result.info[step.placeholder].object[pk])
      }
    }
    if (!this.options.legacyMemexCompatibility) {
      for (const field of info.optionalFields) if (object[field] === undefined) object[field] = null
    }
    return { object }
  }

  /** A copy of `object` as it is stored (custom fields, terms, aliases); the caller's object is left alone. */
  private async prepareCreate(info: CollectionInfo, object: any): Promise<any> {
    if (!info.customFields.length && !info.termsFields.length && !info.aliases.length) {
      // Nothing to change: IndexedDB stores a structured clone of it anyway.
      return object
    }
    const stored = { ...object }
    await this.prepareWrite(info, stored, 'create')
    return stored
  }

  async rawCreateObjects(collection: string, objects: any[], options: backend.CreateManyOptions = {}): Promise<backend.CreateManyResult> {
    if ((options as { withNestedObjects?: boolean }).withNestedObjects === true) {
      throw new StorexBackendDexieError('INVALID_OPTION', 'rawCreateObjects writes flat objects only: pass withNestedObjects: false (or create nested objects with createObject).')
    }
    await this.table(collection).bulkPut(objects)
    return { objects }
  }

  override async updateObjects(collection: string, where: any, updates: any, options: backend.UpdateManyOptions = {}): Promise<backend.UpdateManyResult> {
    void options
    const step = await this.prepareUpdate(collection, where, updates)
    await this.inTransaction([collection], async () => {
      await this.runUpdate(step)
    })
  }

  override async deleteObjects(collection: string, where: any, options: backend.DeleteManyOptions = {}): Promise<backend.DeleteManyResult> {
    const step = await this.prepareDelete(collection, where, options.limit)
    if (step.keys) {
      await this.table(collection).bulkDelete(step.keys)
      return
    }
    await this.inTransaction([collection], async () => {
      await this.runDelete(step)
    })
  }

  private async prepareUpdate(collection: string, where: any, updates: any): Promise<PreparedUpdate> {
    const info = this.info(collection)
    const changes = { ...updates }
    await this.prepareWrite(info, changes, 'update')
    return { kind: 'update', collection, changes, execution: await this.execution(collection, where) }
  }

  private async prepareDelete(collection: string, where: any, limit?: number): Promise<PreparedDelete> {
    const info = this.info(collection)
    const execution = await this.execution(collection, where, limit ? { limit } : {})
    const onlyPk =
      !limit && info.pk && execution.where.fields.size === 1 && execution.where.fields.has(info.pk) && !execution.where.or.length && !execution.where.and.length
    if (onlyPk && execution.where.fields.get(info.pk!)!.length === 1) {
      const plan = planQuery({ where: execution.where, layout: info.layout, definition: info.definition, order: [], ignoreCase: execution.ignoreCase })
      if (plan.kind === 'get') return { kind: 'delete', collection, execution, keys: plan.keys }
    }
    return { kind: 'delete', collection, execution }
  }

  // Inside a transaction only Dexie's promises may be awaited (Dexie follows
  // its transaction across native awaits only for a few ticks), so the run*
  // methods do nothing else; everything asynchronous happens in prepare*.

  private async runUpdate(step: PreparedUpdate): Promise<void> {
    const objects = await this.rawFind(step.collection, step.execution)
    if (!objects.length) return
    for (const object of objects) applyUpdates(object, step.changes)
    await this.table(step.collection).bulkPut(objects)
  }

  private async runDelete(step: PreparedDelete): Promise<void> {
    const table = this.table(step.collection)
    if (step.keys) {
      await table.bulkDelete(step.keys)
      return
    }
    const { keyOf } = this.info(step.collection)
    const objects = await this.rawFind(step.collection, step.execution)
    if (objects.length) await table.bulkDelete(objects.map(keyOf))
  }

  // -------------------------------------------------------------------------
  // Batches and transactions.

  /** Runs `work` in one read-write IndexedDB transaction over `collections` (joins the current one when it covers them). */
  private inTransaction<T>(collections: string[], work: () => Promise<T>): Promise<T> {
    const tables = collections.map((collection) => this.table(collection))
    // The scope must be an async function itself: Dexie keeps its transaction
    // across native awaits only for those ("zone echoing").
    return this.db.transaction('rw', tables, async () => await work()) as Promise<T>
  }

  /** Every step of the batch in ONE IndexedDB transaction: all of it is written, or none of it. */
  override async executeBatch(batch: OperationBatch): Promise<{ info: any }> {
    if (!batch.length) return { info: {} }
    return this.runBatch(flattenBatch(batch, this.registry))
  }

  /**
   * Storex's `transaction` feature is not offered: an IndexedDB transaction ends as soon as it
   * waits for anything but its own requests, and a body of Storex operations (which await
   * middleware and value preparation) does. Write what must be atomic as one `executeBatch`.
   */
  async transaction(_options: { collections: string[] }, _body: unknown): Promise<never> {
    throw new StorexBackendDexieError(
      'UNSUPPORTED_QUERY',
      'transaction() is not supported (an IndexedDB transaction cannot wait for the awaits of a body of Storex operations); put the writes that must be atomic into one executeBatch, which is one IndexedDB transaction.',
    )
  }

  /** A flat batch (nested creates already split): prepared first, then written in one transaction. */
  private async runBatch(batch: OperationBatch): Promise<{ info: Record<string, { object: any }> }> {
    const prepared: PreparedStep[] = []
    for (const step of batch) {
      if (step.operation === 'createObject') {
        prepared.push({ kind: 'create', collection: step.collection, step, stored: await this.prepareCreate(this.info(step.collection), step.args) })
      } else if (step.operation === 'updateObjects') {
        prepared.push(await this.prepareUpdate(step.collection, step.where, step.updates))
      } else if (step.operation === 'deleteObjects') {
        prepared.push(await this.prepareDelete(step.collection, step.where))
      } else {
        throw new StorexBackendDexieError(
          'UNSUPPORTED_QUERY',
          `unknown batch operation ${JSON.stringify((step as any).operation)}; batches take createObject, updateObjects and deleteObjects.`,
        )
      }
    }
    const collections = [...new Set(prepared.map((step) => step.collection))]
    const placeholderCollections = new Map(batch.filter((step) => step.placeholder).map((step) => [step.placeholder!, step.collection]))
    const info: Record<string, { object: any }> = {}
    await this.inTransaction(collections, async () => {
      // Consecutive creates in one collection (the common case: log entries) become one bulkPut.
      let index = 0
      while (index < prepared.length) {
        const step = prepared[index]!
        if (step.kind === 'update') {
          await this.runUpdate(step)
          index += 1
          continue
        }
        if (step.kind === 'delete') {
          await this.runDelete(step)
          index += 1
          continue
        }
        const group: PreparedCreate[] = []
        while (index < prepared.length) {
          const next = prepared[index]!
          if (next.kind !== 'create' || next.collection !== step.collection) break
          // A reference to an object of this very group needs that object's key first.
          if (group.length && next.step.replace?.some(({ placeholder }: { placeholder: string }) => group.some((member) => member.step.placeholder === placeholder))) break
          for (const { path, placeholder } of next.step.replace ?? []) {
            const pk = this.info(placeholderCollections.get(placeholder) ?? next.collection).pk ?? 'id'
            const value = info[placeholder]?.object[pk]
            next.step.args[path] = value
            // The stored copy was prepared already: a relationship alias goes to its field.
            const field = this.info(next.collection).aliases.find(({ alias }) => alias === path)?.fieldName ?? path
            next.stored[field] = value
          }
          group.push(next)
          index += 1
        }
        const pk = this.info(step.collection).pk
        const keys = await this.table(step.collection).bulkPut(
          group.map((member) => member.stored),
          { allKeys: true },
        )
        group.forEach((member, position) => {
          if (pk && member.step.args[pk] === undefined) member.step.args[pk] = keys[position]
          if (member.step.placeholder) info[member.step.placeholder] = { object: member.step.args }
        })
      }
    })
    return { info }
  }
}

interface PreparedCreate {
  kind: 'create'
  collection: string
  step: any
  stored: any
}
interface PreparedUpdate {
  kind: 'update'
  collection: string
  changes: Record<string, unknown>
  execution: ExecutionOptions
}
interface PreparedDelete {
  kind: 'delete'
  collection: string
  execution: ExecutionOptions
  /** Set when the where is only the primary key: delete these keys without reading. */
  keys?: unknown[]
}
type PreparedStep = PreparedCreate | PreparedUpdate | PreparedDelete

function keyGetter(pk: string | string[] | null): (object: any) => unknown {
  if (Array.isArray(pk)) return (object) => pk.map((field) => object[field])
  if (pk) return (object) => object[pk]
  return () => {
    throw new StorexBackendDexieError('UNSUPPORTED_QUERY', 'this collection has no primary key field; give it a pk index to update or delete its objects.')
  }
}

/** Nested creates become their own createObject steps, placeholders kept (as 0.3.1's _flattenBatch). */
function flattenBatch(batch: OperationBatch, registry: StorageRegistry): OperationBatch {
  const flattened: any[] = []
  let generated = 0
  for (const step of batch) {
    const reverse = registry.collections[step.collection]?.reverseRelationshipsByAlias
    if (step.operation !== 'createObject' || !reverse || Object.keys(reverse).length === 0) {
      // Nothing nested can be in it (the common case: dissecting would copy it for nothing).
      flattened.push(step)
      continue
    }
    let first = true
    const dissection = dissectCreateObjectOperation(step, registry, {
      generatePlaceholder: () => {
        if (first) {
          first = false
          return step.placeholder || `auto-gen:${++generated}`
        }
        return `auto-gen:${++generated}`
      },
    } as any)
    const steps = convertCreateObjectDissectionToBatch(dissection)
    // The step's own placeholder references (to objects created earlier in the batch) stay on its top object.
    if (step.replace?.length && steps[0]) steps[0].replace = [...(steps[0].replace ?? []), ...step.replace]
    flattened.push(...steps)
  }
  return flattened
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
