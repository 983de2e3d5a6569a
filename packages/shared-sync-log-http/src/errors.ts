import { SyncError } from '@storex-sync/errors'
import type { ServerErrorCode } from './internal/protocol'

/**
 * What a program can switch on; the package README's "Errors" table says what
 * each one means and what to do. Besides the client's own codes, every code
 * the server answers with (`ServerErrorCode`); an answer with a code this
 * client does not know is `SERVER_ERROR` (5xx) or `HTTP_ERROR`.
 */
export type SharedSyncLogHttpErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_ARGUMENT'
  | 'NO_TOKEN'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'BAD_RESPONSE'
  | 'SERVER_ERROR'
  | 'HTTP_ERROR'
  | ServerErrorCode

/**
 * Error thrown by `HttpSharedSyncLog`, the client of `@storex-sync/shared-sync-log-http`.
 */
export class SharedSyncLogHttpError extends SyncError<SharedSyncLogHttpErrorCode> {
  /** HTTP status of the response that caused the error, when there was one. */
  readonly status?: number

  constructor(code: SharedSyncLogHttpErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super('@storex-sync/shared-sync-log-http', code, message, options)
    if (options?.status !== undefined) {
      this.status = options.status
    }
  }
}

/**
 * The server refused the credentials (HTTP 401): the app should ask the user
 * to sign in again (or refresh the token), then call `setToken()` on the
 * client. Never retried. `reason`: `missing_token`, `invalid_token` or
 * `token_expired`, as the server said.
 */
export class SharedSyncLogAuthError extends SharedSyncLogHttpError {
  readonly reason: string

  constructor(message: string, options: { reason?: string; cause?: unknown } = {}) {
    super('UNAUTHENTICATED', message, { status: 401, cause: options.cause })
    this.reason = options.reason ?? 'invalid_token'
  }
}

/** True for a 401 from the sync server, also when wrapped (`cause`) by another error, e.g. doSync's. */
export function isSyncAuthError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (current instanceof SharedSyncLogAuthError) return true
    const { code, status } = current as { code?: unknown; status?: unknown }
    if (code === 'UNAUTHENTICATED' && (status === 401 || status === undefined)) return true
  }
  return false
}
