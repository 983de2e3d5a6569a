import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { StorageBackend } from '@worldbrain/storex/lib/types/backend.js'
import type * as backend from '@worldbrain/storex/lib/types/backend.js'
import type { StorageBackendFeatureSupport } from '@worldbrain/storex/lib/types/backend-features.js'
import { convertCreateObjectDissectionToBatch, dissectCreateObjectOperation, setIn } from '@worldbrain/storex/lib/utils.js'
import type Dexie from 'dexie'
import { StorexBackendDexieError } from './errors'
import type { DexieStorageBackendOptions } from './options'
import { flattenBatch, runBatch } from './internal/batch'
import { fillOptionalFields, prepareCreate, prepareRead } from './internal/objects'
import { planQuery, type Plan } from './internal/plan'
import { countMatching, execution, rawFind } from './internal/read'
import { Store } from './internal/store'
import { parseWhere } from './internal/where'
import { prepareDelete, prepareUpdate, runDelete, runUpdate } from './internal/write'

export type { DexieStorageBackendOptions, IndexedDbImplementation, SchemaPatcher, Stemmer, StemmerSelector } from './options'

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

  private readonly store: Store

  constructor(options: DexieStorageBackendOptions) {
    super()
    if (!options || typeof options.dbName !== 'string' || !options.dbName) {
      throw new StorexBackendDexieError('INVALID_OPTION', 'new DexieStorageBackend({ dbName }) needs the name of the IndexedDB database.')
    }
    if (options.stemmer && options.stemmerSelector) {
      throw new StorexBackendDexieError('INVALID_OPTION', "pass either 'stemmer' or 'stemmerSelector' to DexieStorageBackend, not both.")
    }
    this.store = new Store(options)
    if (options.stemmer || options.stemmerSelector) this.features.fullTextSearch = true
  }

  /**
   * The IndexedDB database's name. `@storex-sync/client-sync-log` names its
   * cross-tab locks and notifications after it, so every tab over the
   * database shares them.
   */
  get dbName(): string {
    return this.store.options.dbName
  }

  /** The Dexie instance (after `finishInitialization()`), for apps that need raw access. */
  get dexieInstance(): Dexie {
    return this.store.db
  }

  override configure({ registry }: { registry: StorageRegistry }) {
    super.configure({ registry })
    registry.once('initialized', () => this.store.open(this.registry))
  }

  override async migrate({ database }: { database?: string } = {}) {
    if (database) {
      throw new StorexBackendDexieError('INVALID_OPTION', 'this backend has one database per instance; create another DexieStorageBackend for another database.')
    }
  }

  override async cleanup(): Promise<void> {
    this.store.close()
  }

  // -------------------------------------------------------------------------
  // Reading.

  /** The plan the backend would use for this query (for tests and debugging). */
  explain(collection: string, where: any, findOptions: backend.FindManyOptions = {}): Plan {
    const info = this.store.info(collection)
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

  override async findObjects<T>(collection: string, where: any, findOptions: backend.FindManyOptions = {}): Promise<T[]> {
    const info = this.store.info(collection)
    const objects = await rawFind(this.store, collection, await execution(this.store, collection, where, findOptions))
    for (const object of objects) await prepareRead(this.store.options, info, object)
    return objects
  }

  override async findObject<T>(collection: string, where: any, findOptions: backend.FindSingleOptions = {}): Promise<T | null> {
    const [object] = await this.findObjects<T>(collection, where, { ...findOptions, limit: 1 })
    return object ?? null
  }

  override async countObjects(collection: string, where: any, options: backend.CountOptions = {}): Promise<number> {
    return countMatching(this.store, collection, await execution(this.store, collection, where, options))
  }

  async *streamObjects<T>(collection: string): AsyncGenerator<T> {
    const info = this.store.info(collection)
    const table = this.store.table(collection)
    let last: unknown
    for (;;) {
      const coll = last === undefined ? table.orderBy(':id') : table.where(':id').above(last)
      const chunk = await coll.limit(1000).toArray()
      for (const object of chunk) {
        await prepareRead(this.store.options, info, object)
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
    const info = this.store.info(collection)
    const dissection = dissectCreateObjectOperation({ operation: 'createObject', collection, args: object }, this.registry)
    if (dissection.objects.length === 1) {
      const stored = await prepareCreate(this.store.options, info, object)
      const key = await this.store.table(collection).put(stored)
      if (info.pk && object[info.pk] === undefined) object[info.pk] = key
    } else {
      // Nested objects: written as a batch, in one transaction; their pks go into the caller's object.
      const { info: created } = await runBatch(this.store, convertCreateObjectDissectionToBatch(dissection))
      for (const step of dissection.objects) {
        const pk = this.store.info(step.collection).pk
        const stepObject = created[step.placeholder]?.object
        if (pk && stepObject) setIn(object, [...step.path, pk], stepObject[pk])
      }
    }
    fillOptionalFields(this.store.options, info, object)
    return { object }
  }

  async rawCreateObjects(collection: string, objects: any[], options: backend.CreateManyOptions = {}): Promise<backend.CreateManyResult> {
    if ((options as { withNestedObjects?: boolean }).withNestedObjects === true) {
      throw new StorexBackendDexieError('INVALID_OPTION', 'rawCreateObjects writes flat objects only: pass withNestedObjects: false (or create nested objects with createObject).')
    }
    await this.store.table(collection).bulkPut(objects)
    return { objects }
  }

  override async updateObjects(collection: string, where: any, updates: any, options: backend.UpdateManyOptions = {}): Promise<backend.UpdateManyResult> {
    void options
    const step = await prepareUpdate(this.store, collection, where, updates)
    await this.store.inTransaction([collection], async () => {
      await runUpdate(this.store, step)
    })
  }

  override async deleteObjects(collection: string, where: any, options: backend.DeleteManyOptions = {}): Promise<backend.DeleteManyResult> {
    const step = await prepareDelete(this.store, collection, where, options.limit)
    if (step.keys) {
      await this.store.table(collection).bulkDelete(step.keys)
      return
    }
    await this.store.inTransaction([collection], async () => {
      await runDelete(this.store, step)
    })
  }

  // -------------------------------------------------------------------------
  // Batches and transactions.

  /** Every step of the batch in ONE IndexedDB transaction: all of it is written, or none of it. */
  override async executeBatch(batch: OperationBatch): Promise<{ info: any }> {
    if (!batch.length) return { info: {} }
    return runBatch(this.store, flattenBatch(batch, this.registry))
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
}
