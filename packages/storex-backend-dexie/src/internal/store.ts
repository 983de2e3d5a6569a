import Dexie, { type Table } from 'dexie'
import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import { isChildOfRelationship } from '@worldbrain/storex/lib/types/relationships.js'
import { StorexBackendDexieError } from '../errors'
import type { DexieStorageBackendOptions } from '../options'
import { getDexieHistory, getTermsIndex, parseDexieSchema, type CollectionLayout } from './schema'

/** What the backend knows about one collection. */
export interface CollectionInfo {
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

/** The open database: the Dexie instance, what the backend knows of each collection, and the options. */
export class Store {
  private dexie?: Dexie
  private readonly collections = new Map<string, CollectionInfo>()

  constructor(readonly options: DexieStorageBackendOptions) {}

  /** Opens the database with the schema history of the registry (when the registry is initialized). */
  open(registry: StorageRegistry): void {
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
    const history = getDexieHistory(registry)
    const patched = this.options.schemaPatcher ? this.options.schemaPatcher(history) : history
    // No query cache: Storex callers do not use liveQuery, and the cache costs on every request.
    this.dexie = new Dexie(this.options.dbName, { indexedDB: implementation.factory, IDBKeyRange: implementation.range, cache: 'disabled' })
    // Nor liveQuery's change tracking, which works out the changed key ranges of every write.
    this.dexie.unuse({ stack: 'dbcore', name: 'Observability' })
    for (const { dexieSchemaVersion, schema } of patched) {
      this.dexie.version(dexieSchemaVersion).stores(schema)
    }
    const latest = patched.at(-1)?.schema ?? {}
    for (const [name, definition] of Object.entries(registry.collections)) {
      this.collections.set(name, describeCollection(definition, parseDexieSchema(latest[name] ?? '')))
    }
  }

  close(): void {
    this.dexie?.close()
  }

  get db(): Dexie {
    if (!this.dexie) {
      throw new StorexBackendDexieError(
        'NOT_INITIALIZED',
        'the backend is used before storageManager.finishInitialization(); register your collections and await finishInitialization() first.',
      )
    }
    return this.dexie
  }

  info(collection: string): CollectionInfo {
    const info = this.collections.get(collection)
    if (!info) {
      void this.db // used before initialization: say that rather than that the collection is unknown
      throw new StorexBackendDexieError(
        'UNKNOWN_COLLECTION',
        `unknown collection '${collection}': register it (storageManager.registry.registerCollections) before finishInitialization().`,
      )
    }
    return info
  }

  table(collection: string): Table<any, any> {
    this.info(collection)
    return this.db.table(collection)
  }

  /** Runs `work` in one read-write IndexedDB transaction over `collections` (joins the current one when it covers them). */
  inTransaction<T>(collections: string[], work: () => Promise<T>): Promise<T> {
    const tables = collections.map((collection) => this.table(collection))
    // The scope must be an async function itself: Dexie keeps its transaction
    // across native awaits only for those ("zone echoing").
    return this.db.transaction('rw', tables, async () => await work()) as Promise<T>
  }
}

function describeCollection(definition: CollectionDefinition, layout: CollectionLayout): CollectionInfo {
  const termsFields: CollectionInfo['termsFields'] = []
  for (const index of definition.indices ?? []) {
    if (typeof index.field === 'string' && definition.fields[index.field]?.type === 'text') {
      termsFields.push({ field: index.field, termsField: index.fullTextIndexName || getTermsIndex(index.field) })
    }
  }
  return {
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
  }
}

function keyGetter(pk: string | string[] | null): (object: any) => unknown {
  if (Array.isArray(pk)) return (object) => pk.map((field) => object[field])
  if (pk) return (object) => object[pk]
  return () => {
    throw new StorexBackendDexieError('UNSUPPORTED_QUERY', 'this collection has no primary key field; give it a pk index to update or delete its objects.')
  }
}
