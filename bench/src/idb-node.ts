import { IDBFactory, IDBKeyRange as FakeIDBKeyRange } from 'fake-indexeddb'
import { DexieStorageBackend as LegacyDexieStorageBackend } from '@worldbrain/storex-backend-dexie'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import type { IdbEnvironment } from './idb-sync'

export type IdbBackendName = 'legacy' | 'ours'

/**
 * fake-indexeddb (a fresh factory per run, so runs do not share memory) with
 * either backend: 'legacy' is @worldbrain/storex-backend-dexie 0.3.1 (with a
 * `navigator`, as in browsers, so its batches are transactions).
 */
export function nodeIdbEnvironment(backendName: IdbBackendName): IdbEnvironment {
  const indexedDB = new IDBFactory()
  if (backendName === 'legacy') {
    if (typeof (globalThis as { navigator?: unknown }).navigator === 'undefined') {
      Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'node' }, configurable: true })
    }
    return {
      indexedDB,
      IDBKeyRange: FakeIDBKeyRange as any,
      backendName: '@worldbrain/storex-backend-dexie 0.3.1',
      createBackend: (dbName) => new LegacyDexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: FakeIDBKeyRange as any } }),
    }
  }
  if (backendName === 'ours') {
    return {
      indexedDB,
      IDBKeyRange: FakeIDBKeyRange as any,
      backendName: '@storex-sync/storex-backend-dexie',
      createBackend: (dbName) => new DexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: FakeIDBKeyRange as any } }),
    }
  }
  throw new Error(`unknown IndexedDB backend ${backendName}; use 'ours' or 'legacy'`)
}
