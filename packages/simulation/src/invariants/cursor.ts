import { getQuarantineId, type ClientSyncLogEntry, type QuarantinedEntry } from '@storex-sync/client-sync-log'
import type { SharedSyncLogEntry } from '@storex-sync/shared-sync-log-core'
import stringify from '../internal/stable-stringify'

/**
 * Invariant 5: a device's cursor never passes entries it has not stored.
 * Checked at every markAsSeen, before the cursor moves: every entry of the
 * page it moves past must be in the device's log or its quarantine.
 */
export function checkCursor(
  device: { name: string; entries: ClientSyncLogEntry[]; quarantined: QuarantinedEntry[] },
  page: SharedSyncLogEntry[],
): string[] {
  const stored = new Set(device.entries.map((entry) => stringify([entry.deviceId, entry.createdOn])))
  const quarantined = new Set(device.quarantined.map((entry) => entry.id))
  return page
    .filter((entry) => !stored.has(stringify([entry.deviceId, entry.createdOn])) && !quarantined.has(getQuarantineId(entry.deviceId, entry.createdOn)))
    .map(
      (entry) =>
        `[5 cursor] ${device.name} moved its cursor past the entry of device ${JSON.stringify(entry.deviceId)} at ${entry.createdOn}, which it has not stored`,
    )
}
