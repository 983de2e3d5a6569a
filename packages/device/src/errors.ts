import { syncErrorClass } from '@storex-sync/errors'

export const DEVICE_PACKAGE = '@storex-sync/device'

/** What a program can switch on: `INVALID_OPTION` (a missing or bad option; the message names it). */
export type SyncedDeviceErrorCode = 'INVALID_OPTION'

/** Errors of createSyncedDevice. */
export class SyncedDeviceError extends syncErrorClass<SyncedDeviceErrorCode>(DEVICE_PACKAGE) {}
