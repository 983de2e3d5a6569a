import type { DeviceId, SharedSyncLogEntry, SharedSyncLogEntryInput, UserId } from '@storex-sync/shared-sync-log-core'
import type { SharedSyncLogAppend, SharedSyncLogDeviceInfoRecord, SharedSyncLogEntryRecord } from '../schema'

/** Devices stored before activeAt existed count as active when they last read (or never). */
export function activeAtOf(device: SharedSyncLogDeviceInfoRecord): number {
  return Number(device.activeAt ?? device.sharedUntil ?? 0)
}

export function toAppend(
  entries: SharedSyncLogEntryInput[],
  options: { userId: UserId; deviceId: DeviceId; extraSentInfo?: unknown },
  sharedOn: number,
): SharedSyncLogAppend {
  return {
    userKey: String(options.userId),
    userId: options.userId,
    deviceId: options.deviceId,
    sharedOn,
    hasExtraSentInfo: options.extraSentInfo !== undefined,
    extraSentInfo: options.extraSentInfo,
    entries: entries.map((entry) => ({ createdOn: entry.createdOn, data: entry.data })),
  }
}

export function toEntry(userId: UserId, record: SharedSyncLogEntryRecord): SharedSyncLogEntry {
  const entry: SharedSyncLogEntry = {
    userId,
    deviceId: record.deviceId,
    createdOn: Number(record.createdOn),
    sharedOn: Number(record.sharedOn),
    data: record.data,
  }
  const extra = record.extraSentInfo
  if (extra !== null && extra !== undefined && typeof extra === 'object' && 'value' in extra) {
    entry.extraSentInfo = extra.value
  }
  return entry
}
