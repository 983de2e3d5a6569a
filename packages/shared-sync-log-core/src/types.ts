import type { SharedSyncLogLimits } from './limits'

/** Who owns the data: the shared log keeps each user's devices and entries apart. */
export type UserId = number | string
/** A device, as handed out by `SharedSyncLog.createDeviceId()`; scoped to its user. */
export type DeviceId = number | string

/** What an entry did to one object, before serialization. */
export interface SharedSyncLogEntryData {
  operation: 'create' | 'modify' | 'delete'
  collection: string
  pk: unknown
  /** create: the object without its pk; modify: the changed fields; delete: absent. */
  value?: Record<string, unknown> | null
  /**
   * The version (ms since 1970) of the collection's definition in the app
   * that wrote it, so a device on an older app version can say why it keeps
   * an entry aside (a field or collection it does not know yet).
   */
  schemaVersion?: number
}

/** An entry as a device writes it: the log adds user, device and its own order. */
export interface SharedSyncLogEntryInput<Data = string> {
  /** The writing device's hybrid logical clock; unique per device. */
  createdOn: number
  data: Data
}

/** An entry as the shared log hands it out. */
export interface SharedSyncLogEntry<Data = string> extends SharedSyncLogEntryInput<Data> {
  userId: UserId
  deviceId: DeviceId
  /** Wall-clock time (ms) at which the shared log accepted the entry. */
  sharedOn: number
  /** What the writing device passed as `extraSentInfo` with the batch, if anything. */
  extraSentInfo?: unknown
}

/**
 * Opaque position in the shared log, handed back to `markAsSeen()`. Devices
 * must not interpret it: it is the log's own order, never a client clock.
 */
export type SharedSyncLogMemo = unknown

export interface SharedSyncLogUpdate<Data = string> {
  /** Entries of the user's other devices, in the log's order, at most `batchSize`. */
  entries: Array<SharedSyncLogEntry<Data>>
  /** Pass to `markAsSeen()` once the entries are stored; the next read starts after them. */
  memo: SharedSyncLogMemo
  /** True when more entries wait beyond this page. */
  hasMore: boolean
}

export interface SharedSyncLogDeviceInfo {
  /** Wall-clock time (ms) of the device's last `markAsSeen()`, or what it was created with. */
  sharedUntil: number | null
}

export type Now = number | '$now'

/**
 * The log that all devices of a user share. Implementations: the in-memory
 * one here, `SharedSyncLogStorage` on any Storex backend, and HTTP clients.
 * `runSharedSyncLogTests()` from `./testing` checks an implementation.
 */
export interface SharedSyncLog {
  createDeviceId(options: { userId: UserId; sharedUntil?: number | null }): Promise<DeviceId>
  /** `null` for a device that does not exist or belongs to another user. */
  getDeviceInfo(options: { userId: UserId; deviceId: DeviceId }): Promise<SharedSyncLogDeviceInfo | null>
  /**
   * Appends entries in the given order. Safe to retry: an entry whose
   * (device, createdOn) the log already holds is not stored again.
   */
  writeEntries(
    entries: Array<SharedSyncLogEntryInput>,
    options: { userId: UserId; deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  ): Promise<void>
  /** The next entries, after the device's cursor, that other devices of the user wrote. */
  getUnsyncedEntries(options: { userId: UserId; deviceId: DeviceId; batchSize?: number }): Promise<SharedSyncLogUpdate>
  /** Moves the device's cursor to the end of the update the memo came with. */
  markAsSeen(update: { memo: SharedSyncLogMemo }, options: { userId: UserId; deviceId: DeviceId; now?: Now }): Promise<void>
  /**
   * Optional: what one write may hold (entries, bytes by the `json-utf8-v1`
   * rule). Callers never send a write larger than this. A log that refuses
   * entries for good throws a `SharedSyncLogRefusalError` from `writeEntries()`.
   */
  getLimits?(): Promise<SharedSyncLogLimits>
  /** Optional: the log's wall clock (ms since epoch), to tell how far off a device's clock is. */
  getServerTime?(): Promise<number>
}

export function resolveNow(now: Now | undefined): number {
  return typeof now === 'number' ? now : Date.now()
}
