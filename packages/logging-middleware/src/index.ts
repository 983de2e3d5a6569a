export { SyncLoggingMiddleware } from './middleware'
export type { SyncLoggingMiddlewareOptions, StorageMiddlewareContext } from './middleware'
export { SyncLoggingError } from './errors'
export type { SyncLoggingErrorCode } from './errors'
