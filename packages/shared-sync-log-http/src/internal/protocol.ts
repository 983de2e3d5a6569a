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
