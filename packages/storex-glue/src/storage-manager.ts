import * as storex from '@worldbrain/storex'

/** An instance of storex's StorageManager. */
export type StorageManagerInstance = storex.default

/**
 * Storex's StorageManager class, however this module was loaded.
 * `@worldbrain/storex` is CommonJS with a default export: Node's ESM loader
 * hands out the module object (the class is its `.default`), bundlers and
 * CommonJS may add another `.default` layer or none.
 */
export const StorageManager: typeof storex.default = ((storex as any).default?.default ??
  (storex as any).default ??
  storex) as typeof storex.default

export interface OpenStorageManagerOptions {
  /** A storex backend (Dexie, `@storex-sync/storex-backend-sql`, ...). */
  backend: unknown
  /** Registers collections and modules; runs before `finishInitialization()`. */
  setup: (storageManager: StorageManagerInstance) => void | Promise<void>
  /** Runs after `finishInitialization()` and migration. */
  afterInitialization?: (storageManager: StorageManagerInstance) => void | Promise<void>
}

/**
 * A StorageManager over `backend`, ready to use: `setup` has registered the
 * collections, initialization is finished, and the backend has created its
 * tables where it has a `migrate()` (the SQL backend does).
 */
export async function openStorageManager(options: OpenStorageManagerOptions): Promise<StorageManagerInstance> {
  const storageManager = new StorageManager({ backend: options.backend as any })
  await options.setup(storageManager)
  await storageManager.finishInitialization()
  const backend = storageManager.backend as { migrate?: () => Promise<void> }
  if (typeof backend.migrate === 'function') {
    await backend.migrate()
  }
  await options.afterInitialization?.(storageManager)
  return storageManager
}
