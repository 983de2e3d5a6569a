import { describe, it } from 'vitest'
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { DexieStorageBackend } from '../src'

// Storex's own backend suite (@worldbrain/storex/lib/index.tests) is written
// for mocha's globals; vitest's describe/it stand in for them.
Object.assign(globalThis, { describe, it })
const { testStorageBackend } = await import('@worldbrain/storex/lib/index.tests.js')

let databases = 0

describe('Storex testStorageBackend on @storex-sync/storex-backend-dexie (fake-indexeddb)', () => {
  testStorageBackend(async (context: { cleanupFunction?: () => Promise<void> }) => {
    const backend = new DexieStorageBackend({
      dbName: `storex-suite-${(databases += 1)}`,
      idbImplementation: { factory: new IDBFactory(), range: IDBKeyRange },
    })
    context.cleanupFunction = () => backend.cleanup()
    return backend as any
  })
})
