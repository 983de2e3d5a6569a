/** The storex operations that change data; every other operation only reads. */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set([
  'createObject',
  'updateObject',
  'updateObjects',
  'deleteObject',
  'deleteObjects',
  'executeBatch',
])

export function isWriteOperation(operationName: string): boolean {
  return WRITE_OPERATIONS.has(operationName)
}

/**
 * What storex passes to a middleware's `process()`: storex declares this type
 * (`lib/types/middleware`) but does not export it from its root.
 */
export interface StorageMiddlewareContext {
  operation: any[]
  extraData: { [key: string]: any }
  next: { process: (context: { operation: any[]; extraData?: { [key: string]: any } }) => any }
}
