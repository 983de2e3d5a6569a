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

export interface WireError {
  error: { code: string; message: string }
}

/** Error codes the server sends; the client turns them into `SharedSyncLogHttpError`s with the same code. */
export const SERVER_ERROR_CODES = {
  UNAUTHENTICATED: 401,
  DEVICE_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  ENTRIES_REFUSED: 400,
  /** The device is behind the compacted part of the log: bootstrap it from `POST /v1/snapshot`. */
  SNAPSHOT_REQUIRED: 409,
  /** The server keeps no replica to take a snapshot from (404: nothing is there; not a server failure). */
  SNAPSHOT_UNAVAILABLE: 404,
  INTERNAL_ERROR: 500,
} as const
