import { SyncError } from '@storex-sync/errors'

export const DEVICE_PACKAGE = '@storex-sync/device'

/** Errors of createSyncedDevice. Codes: `INVALID_OPTION` (a missing or bad option; the message names it). */
export class SyncedDeviceError extends SyncError {
  constructor(code: 'INVALID_OPTION', message: string, options?: { cause?: unknown }) {
    super(DEVICE_PACKAGE, code, message, options)
  }
}
