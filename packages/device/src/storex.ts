import * as storex from '@worldbrain/storex'
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
 * Storex's StorageManager class. `@worldbrain/storex` is CommonJS with a
 * default export: an ESM app gets the class as `.default` of the module
 * object, a CommonJS or bundled app as the module's default. This is the
 * class either way, typed the same under every `moduleResolution`.
 */
export const StorageManager = ((storex as any).default?.default ?? (storex as any).default ?? storex) as new (options: {
  backend: StorageBackend
}) => StorexStorageManager
