import { SyncError } from '@storex-sync/errors'
import type { DeviceId } from './types'

export const SHARED_SYNC_LOG_PACKAGE = '@storex-sync/shared-sync-log-core'

/**
 * Error thrown by every `SharedSyncLog` implementation of this project (the
 * in-memory one, `@storex-sync/shared-sync-log-storex`, the HTTP client).
 * Codes: `UNKNOWN_DEVICE`, `INVALID_MEMO`, `INVALID_ARGUMENT`; refusals of a write
 * (`ENTRIES_REFUSED`, `REQUEST_TOO_LARGE`) are `SharedSyncLogRefusalError`s.
 */
export class SharedSyncLogError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(SHARED_SYNC_LOG_PACKAGE, code, message, options)
  }

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
