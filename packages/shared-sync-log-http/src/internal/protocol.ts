/**
 * The wire protocol shared by client and server. Every route is a POST with a
 * JSON body (so device ids keep their JSON type), authenticated with
 * `Authorization: Bearer <token>`. Errors come back as
 * `{ error: { code, message } }` with a 4xx or 5xx status.
 */
export const PROTOCOL_VERSION = 1

export const ROUTES = {
  createDevice: '/v1/devices/create',
  deviceInfo: '/v1/devices/info',
  writeEntries: '/v1/entries/write',
  unsyncedEntries: '/v1/entries/unsynced',
  markAsSeen: '/v1/entries/seen',
  /** `{}` -> `{ protocolVersion, limits: { maxEntriesPerWrite, maxWriteBytes, sizeRule }, now }`. */
  info: '/v1/info',
  /** Live updates: a Server-Sent Events stream (see `HttpSharedSyncLog.subscribe`). */
  events: '/v1/events',
  /**
   * `{ deviceId, cursor?, limit? }` -> a `SharedSyncLogSnapshotPage` of the
   * caller's user, from the server's replica; 404 `SNAPSHOT_UNAVAILABLE` where
   * the server keeps none.
   */
  snapshot: '/v1/snapshot',
} as const

export type RouteName = keyof typeof ROUTES

/**
 * Every error code the server answers with, and its HTTP status: the one
 * table the server answers from and the client reads codes by.
 */
export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  INVALID_MEMO: 400,
  INVALID_JSON: 400,
  INVALID_TEXT: 400,
  INVALID_REQUEST: 400,
  TOO_DEEP: 400,
  ENTRIES_REFUSED: 400,
  UNAUTHENTICATED: 401,
  UNKNOWN_DEVICE: 404,
  SNAPSHOT_UNAVAILABLE: 404,
  ROUTE_NOT_FOUND: 404,
  SNAPSHOT_REQUIRED: 409,
  BODY_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  EXTRA_SENT_INFO_TOO_LARGE: 413,
  QUOTA_ENTRIES: 413,
  QUOTA_BYTES: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  QUOTA_DEVICES: 429,
  TOO_MANY_STREAMS: 429,
  INTERNAL_ERROR: 500,
  DATABASE_UNAVAILABLE: 503,
} as const satisfies Record<string, number>

/** A code the server answers with (`{ error: { code, message } }`). */
export type ServerErrorCode = keyof typeof ERROR_STATUS

export function isServerErrorCode(code: unknown): code is ServerErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, code)
}
