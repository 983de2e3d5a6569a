import type { IndexedDbImplementation } from './options'
import { StorexBackendDexieError } from './errors'

/**
 * Deletes an IndexedDB database with all its data (close your backend
 * first: `await backend.cleanup()`). When other connections (other tabs)
 * still have it open, resolves at once and the database goes when they close.
 */
export function deleteDexieDatabase(options: { dbName: string; idbImplementation?: IndexedDbImplementation }): Promise<void> {
  const factory = options.idbImplementation?.factory ?? ((globalThis as any).indexedDB as IDBFactory | undefined)
  if (!factory) {
    return Promise.reject(
      new StorexBackendDexieError('INVALID_OPTION', 'there is no IndexedDB here: pass idbImplementation: { factory, range } (in Node, from fake-indexeddb).'),
    )
  }
  return new Promise<void>((resolve, reject) => {
    const request = factory.deleteDatabase(options.dbName)
    request.onsuccess = request.onblocked = () => resolve()
    request.onerror = () =>
      reject(
        new StorexBackendDexieError('DELETE_FAILED', `could not delete the IndexedDB database '${options.dbName}': ${request.error?.message}.`, {
          cause: request.error,
        }),
      )
  })
}
