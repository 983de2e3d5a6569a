export { StorageManager, openStorageManager, type OpenStorageManagerOptions, type StorageManagerInstance } from './storage-manager'
export { Mutex, KeyedMutex } from './mutex'
export { WRITE_OPERATIONS, isWriteOperation, type StorageMiddlewareContext } from './operations'
export {
  flattenCreate,
  nestedCreateBatch,
  rebuildNestedCreate,
  type FlattenCreateOptions,
  type NestedCreateErrorCode,
  type NestedCreateStep,
} from './nested-create'
