import { SharedSyncLogError, SharedSyncLogRefusalError, type SharedSyncLogErrorCode } from '@storex-sync/shared-sync-log-core'
import { SharedSyncLogAuthError, SharedSyncLogHttpError } from '../errors'
import { isServerErrorCode, type ServerErrorCode } from './protocol'

/** A failed request: the error to throw, and whether sending it again may help. */
export interface Attempt {
  retryable: boolean
  error: SharedSyncLogHttpError | SharedSyncLogError
}

/** Errors of the log itself, which the client throws as `SharedSyncLogError`. */
const LOG_ERROR_CODES: ReadonlySet<string> = new Set<SharedSyncLogErrorCode & ServerErrorCode>([
  'UNKNOWN_DEVICE',
  'INVALID_MEMO',
  'INVALID_ARGUMENT',
  'SNAPSHOT_REQUIRED',
  'SNAPSHOT_UNAVAILABLE',
])

function isLogErrorCode(code: ServerErrorCode): code is SharedSyncLogErrorCode & ServerErrorCode {
  return LOG_ERROR_CODES.has(code)
}

/** Reads a non-2xx answer of the server into the error the client throws. */
export function readErrorAnswer(response: Response, json: any, url: string): Attempt {
  const serverError = json && typeof json === 'object' && json.error && typeof json.error === 'object' ? json.error : null
  const serverCode: unknown = serverError?.code
  const code = isServerErrorCode(serverCode) ? serverCode : response.status >= 500 ? 'SERVER_ERROR' : 'HTTP_ERROR'
  const message =
    typeof serverError?.message === 'string'
      ? `server answered ${response.status} ${typeof serverCode === 'string' ? serverCode : code}: ${serverError.message}`
      : `${url} answered ${response.status} ${response.statusText || ''}`.trim() +
        (response.status === 404 ? '; is the URL pointing at a storex-sync server?' : '')
  if (response.status === 413 || (code === 'ENTRIES_REFUSED' && Array.isArray(serverError?.refused))) {
    // Refused for good: sending the same request again cannot help. The caller sets entries aside or sends less.
    return {
      retryable: false,
      error: new SharedSyncLogRefusalError(response.status === 413 ? 'REQUEST_TOO_LARGE' : 'ENTRIES_REFUSED', message, {
        refused: response.status === 413 ? null : serverError.refused,
      }),
    }
  }
  if (response.status === 401) {
    // Not retried: the same token would be refused again. The app asks the user to sign in, then calls setToken().
    const why = typeof serverError?.message === 'string' ? serverError.message : 'the token was refused'
    return {
      retryable: false,
      error: new SharedSyncLogAuthError(`the sync server refused the credentials: ${why}; sign in again (or refresh the token) and call setToken()`, {
        reason: typeof serverError?.reason === 'string' ? serverError.reason : undefined,
      }),
    }
  }
  if (isServerErrorCode(code) && isLogErrorCode(code) && typeof serverError?.message === 'string') {
    // The log's own errors arrive as the log's error class, as from any other SharedSyncLog.
    return { retryable: false, error: new SharedSyncLogError(code, serverError.message) }
  }
  return {
    // 5xx and 429 (rate limited) may pass later; other 4xx will not.
    retryable: response.status >= 500 || response.status === 429,
    error: new SharedSyncLogHttpError(code, message, { status: response.status }),
  }
}
