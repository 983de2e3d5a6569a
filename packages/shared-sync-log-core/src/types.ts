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
  /**
   * Optional: how many entries of other devices wait beyond this page (for
   * progress with totals). Logs that cannot tell cheaply leave it out.
   */
  remaining?: number
}

export interface SharedSyncLogDeviceInfo {
  /** Wall-clock time (ms) of the device's last `markAsSeen()`, or what it was created with. */
  sharedUntil: number | null
  /**
   * True when entries this device has not read were compacted away (it was
   * retired after a silence longer than the retention, or created after a
   * compaction): it must bootstrap from a snapshot (`getSnapshotPage`) before
   * it can read the log again. Its writes are still accepted.
   */
  snapshotRequired?: boolean
}

/** What `compact()` is told. */
export interface SharedSyncLogCompactionOptions {
  userId: UserId
  /**
   * A device that has not written or read for longer than this (ms), and has
   * entries it has not read, is retired: it no longer holds compaction back,
   * and when it returns it bootstraps from a snapshot (its offline writes are
   * still accepted and shared).
   */
  retentionMs: number
  /** Wall-clock time of the compaction (ms) or '$now' (the default). */
  now?: Now
}

export interface SharedSyncLogCompactionResult {
  /** Entries deleted by this call. */
  deletedEntries: number
  /** Devices this call retired (their next `getUnsyncedEntries()` throws `SNAPSHOT_REQUIRED`). */
  retiredDevices: DeviceId[]
  /** Entries the log still holds for the user. */
  remainingEntries: number
}

/** One object of a snapshot: the entries a reconciler needs to decide it and to merge later entries. */
export interface SharedSyncLogSnapshotObject<Data = string> {
  collection: string
  pk: unknown
  /**
   * The object's compacted history in the log's entry form, oldest first: its
   * create and the latest write of each field (a live object), or the delete
   * that must still win over late entries (a tombstone).
   */
  entries: Array<SharedSyncLogEntry<Data>>
}

/** One page of a snapshot of a user's data (see `SharedSyncLog.getSnapshotPage`). */
export interface SharedSyncLogSnapshotPage<Data = string> {
  /**
   * The log position the snapshot was taken at (the same on every page of
   * one snapshot). Once every page is stored, pass it to `markAsSeen()`: the
   * device then reads the log from there. Entries after it that a page
   * already holds arrive again and are recognised as duplicates.
   */
  memo: SharedSyncLogMemo
  objects: Array<SharedSyncLogSnapshotObject<Data>>
  /** Pass to the next call for the next page; `null` after the last page. */
  cursor: string | null
  /** The whole snapshot, for progress: objects (live and deleted), entries, bytes of entry data (UTF-8). */
  totals: { objects: number; entries: number; bytes: number }
}

export type Now = number | '$now'

/**
 * The log that all devices of a user share. Implementations: the in-memory
 * one here, `SharedSyncLogStorage` on any Storex backend, and HTTP clients.
 * `runSharedSyncLogTests()` from `./testing` checks an implementation.
 */
export interface SharedSyncLog {
  createDeviceId(options: { userId: UserId; sharedUntil?: number | null; now?: Now }): Promise<DeviceId>
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
  /**
   * Optional: deletes the user's entries that every active device has read,
   * after retiring devices silent for longer than `retentionMs`. A device
   * behind the deleted entries (retired, or created after them) gets
   * `SharedSyncLogError` `SNAPSHOT_REQUIRED` from `getUnsyncedEntries()` until
   * a `markAsSeen()` with a snapshot's memo moves it past them.
   */
  compact?(options: SharedSyncLogCompactionOptions): Promise<SharedSyncLogCompactionResult>
  /**
   * Optional: the user's current data, a page at a time, from a replica that
   * integrates this log (see `@storex-sync/replica`). Throws
   * `SharedSyncLogError` `SNAPSHOT_UNAVAILABLE` where no replica is kept.
   */
  getSnapshotPage?(options: { userId: UserId; deviceId: DeviceId; cursor?: string | null; limit?: number }): Promise<SharedSyncLogSnapshotPage>
  /**
   * Optional: releases what the log holds open (a connection pool, live
   * streams), for logs that hold anything. Calling it again does nothing;
   * the log is not used after it.
   */
  close?(): Promise<void>
}

export function resolveNow(now: Now | undefined): number {
  return typeof now === 'number' ? now : Date.now()
}
