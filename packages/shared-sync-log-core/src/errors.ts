import { syncErrorClass } from '@storex-sync/errors'
import type { DeviceId } from './types'

export const SHARED_SYNC_LOG_PACKAGE = '@storex-sync/shared-sync-log-core'

/**
 * What a program can switch on; the package README's "Errors" table says what
 * each one means and what to do. Refusals of a write (`ENTRIES_REFUSED`,
 * `REQUEST_TOO_LARGE`) are `SharedSyncLogRefusalError`s.
 */
export type SharedSyncLogErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_DEVICE'
  | 'INVALID_MEMO'
  | 'SNAPSHOT_REQUIRED'
  | 'SNAPSHOT_UNAVAILABLE'
  | 'ENTRIES_REFUSED'
  | 'REQUEST_TOO_LARGE'

/**
 * Error thrown by every `SharedSyncLog` implementation of this project (the
 * in-memory one, `@storex-sync/shared-sync-log-storex`, the HTTP client).
 */
export class SharedSyncLogError extends syncErrorClass<SharedSyncLogErrorCode>(SHARED_SYNC_LOG_PACKAGE) {
  /**
   * The one error for a device id that does not exist or belongs to another
   * user: the message is the same in both cases, so callers cannot probe for
   * other users' devices.
   */
  static unknownDevice(deviceId: DeviceId): SharedSyncLogError {
    return new SharedSyncLogError(
      'UNKNOWN_DEVICE',
      `device ${JSON.stringify(deviceId)} is not registered for this user; ` +
        'create one with sharedSyncLog.createDeviceId({ userId }) and store its id on the device',
    )
  }

  /** A device behind the compacted part of the log: it must start again from a snapshot. */
  static snapshotRequired(deviceId: DeviceId): SharedSyncLogError {
    return new SharedSyncLogError(
      'SNAPSHOT_REQUIRED',
      `device ${JSON.stringify(deviceId)} has not read entries that the log has since compacted away (it was retired after ` +
        'a long silence, or created after a compaction); bootstrap it from a snapshot (getSnapshotPage, which doSync does by ' +
        'itself), then markAsSeen() the snapshot\'s memo. Its writes are still accepted.',
    )
  }

  static snapshotUnavailable(): SharedSyncLogError {
    return new SharedSyncLogError(
      'SNAPSHOT_UNAVAILABLE',
      'this shared log keeps no replica to take a snapshot from; start the server with a replica ' +
        '(@storex-sync/sync-server --replica) or wrap the log with withReplica() from @storex-sync/replica.',
    )
  }

  static invalidMemo(memo: unknown): SharedSyncLogError {
    let shown: string
    try {
      shown = JSON.stringify(memo) ?? String(memo)
    } catch {
      shown = String(memo)
    }
    return new SharedSyncLogError(
      'INVALID_MEMO',
      `markAsSeen() got a memo this shared log did not hand out (${shown.slice(0, 100)}); ` +
        'pass the `memo` of the update that getUnsyncedEntries() returned, unchanged',
    )
  }
}
