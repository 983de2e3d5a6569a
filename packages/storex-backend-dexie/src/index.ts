export {
  DexieStorageBackend,
  type DexieStorageBackendOptions,
  type IndexedDbImplementation,
  type SchemaPatcher,
  type Stemmer,
  type StemmerSelector,
} from './backend'
export { deleteDexieDatabase } from './delete-database'
export { StorexBackendDexieError, STOREX_BACKEND_DEXIE_PACKAGE } from './errors'
export type { StorexBackendDexieErrorCode } from './errors'
export { getDexieHistory, getTermsIndex, type DexieSchemaVersion } from './internal/schema'
export type { Plan, KeyRange } from './internal/plan'
