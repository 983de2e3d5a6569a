import type { DexieSchemaVersion } from './internal/schema'

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
