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
