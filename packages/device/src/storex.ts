import { StorageManager as StorexClass } from '@storex-sync/storex-glue'
import type { StorageBackend, StorageRegistry } from '@worldbrain/storex'
import type { StorageCollection } from '@worldbrain/storex/lib/types/manager'
import type { StorageMiddleware } from '@worldbrain/storex/lib/types/middleware'

/** A Storex StorageManager, typed without storex's CommonJS default export (which apps type differently by module mode). */
export interface StorexStorageManager {
  registry: StorageRegistry
  backend: StorageBackend
  setMiddleware(middleware: StorageMiddleware[]): void
  finishInitialization(): Promise<void>
  collection(collectionName: string): StorageCollection
  operation(operationName: string, ...args: any[]): Promise<any>
}

/**
 * Storex's StorageManager class (resolved once, in @storex-sync/storex-glue,
 * from storex's CommonJS module), typed here without storex's default
 * export, so it reads the same under every `moduleResolution`: an ESM app
 * with NodeNext otherwise sees storex's default export as the module object.
 */
export const StorageManager = StorexClass as unknown as new (options: { backend: StorageBackend }) => StorexStorageManager
