export { HttpSharedSyncLog } from './client'
export type { HttpSharedSyncLogOptions, BackoffOptions, RetryInfo } from './client'
export { SharedSyncLogHttpError } from './errors'
export { ROUTES, PROTOCOL_VERSION } from './internal/protocol'
