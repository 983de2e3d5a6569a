export { HttpSharedSyncLog } from './client'
export type { HttpSharedSyncLogOptions, BackoffOptions, RetryInfo, SubscribeOptions } from './client'
export { SharedSyncLogHttpError, SharedSyncLogAuthError, isSyncAuthError } from './errors'
export { ROUTES, PROTOCOL_VERSION } from './internal/protocol'
