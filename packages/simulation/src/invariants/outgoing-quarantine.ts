import { getObjectKey, type ClientSyncLogEntry, type ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { measureEntryBytes, type DeviceId } from '@storex-sync/shared-sync-log-core'
import { REFUSE_FOREVER, REFUSE_UNTIL_UPGRADE, entryKey, type LimitedSharedSyncLog } from '../limited-log'

function serialized(entry: ClientSyncLogEntry): string {
  return JSON.stringify(
    entry.operation === 'delete'
      ? { operation: 'delete', collection: entry.collection, pk: entry.pk }
      : { operation: entry.operation, collection: entry.collection, pk: entry.pk, value: entry.value },
  )
}

/**
 * Invariant 6 (with limits, checked in the final round): the outgoing
 * quarantines hold exactly what had to be set aside. Each entry set
 * aside for itself is one the log refused by name or too large on its own
 * (under the original limit); each one held is behind an earlier quarantined
 * entry of its object; and no own entry waits outside the quarantine.
 * With `onlyForever`, only entries refused for good may be left.
 */
export async function checkOutgoingQuarantines(
  devices: Array<{ name: string; deviceId: DeviceId; clientSyncLog: ClientSyncLogStorage }>,
  log: LimitedSharedSyncLog,
  onlyForever: boolean,
): Promise<string[]> {
  const problems: string[] = []
  for (const device of devices) {
    const listed = await device.clientSyncLog.getOutgoingQuarantinedEntries()
    const firstRefused = new Map<string, number>()
    for (const item of listed) {
      const entry = item.entry
      if (!entry) {
        problems.push(`[6 quarantine] ${device.name}'s outgoing quarantine lists ${item.id}, which its log no longer holds`)
        continue
      }
      if (item.reason === 'HELD_BEHIND') continue
      const data = serialized(entry)
      const bytes = measureEntryBytes({ createdOn: entry.createdOn, data })
      const forever = data.includes(REFUSE_FOREVER)
      const refusable = forever || data.includes(REFUSE_UNTIL_UPGRADE) || bytes > log.spec.maxWriteBytes - 100
      if (!refusable && !log.refusedEntries.has(entryKey(entry.deviceId, entry.createdOn))) {
        problems.push(`[6 quarantine] ${device.name} quarantined ${item.id} (${item.reason}: ${item.message}), which the log would accept (${bytes} bytes)`)
      }
      if (onlyForever && !forever) {
        problems.push(`[6 quarantine] ${device.name} still quarantines ${item.id} (${item.reason}) after the server upgrade and a retry`)
      }
      firstRefused.set(item.objectKey, Math.min(firstRefused.get(item.objectKey) ?? Infinity, entry.createdOn))
    }
    for (const item of listed) {
      if (item.reason !== 'HELD_BEHIND' || !item.entry) continue
      if (!(item.entry.createdOn > (firstRefused.get(item.objectKey) ?? Infinity))) {
        problems.push(`[6 quarantine] ${device.name} holds ${item.id} behind nothing: no earlier entry of ${item.objectKey} is quarantined`)
      }
    }
    // Later own entries of an object with a quarantined entry are held, never sent.
    for (const entry of await device.clientSyncLog.getEntries()) {
      const first = firstRefused.get(getObjectKey(entry.collection, entry.pk))
      if (first === undefined || entry.createdOn <= first || JSON.stringify(entry.deviceId) !== JSON.stringify(device.deviceId)) continue
      if (!listed.some((item) => item.entry && item.entry.createdOn === entry.createdOn && JSON.stringify(item.entry.deviceId) === JSON.stringify(entry.deviceId))) {
        problems.push(`[6 quarantine] ${device.name} sent ${entryKey(entry.deviceId, entry.createdOn)} although an earlier entry of its object is quarantined`)
      }
    }
    const pending = await device.clientSyncLog.countPending()
    if (pending.unshared) {
      problems.push(`[6 quarantine] ${device.name} has ${pending.unshared} own entries neither sent nor quarantined after the final round`)
    }
    for (const entry of await device.clientSyncLog.getEntries()) {
      if (entry.sharedOn === null && !listed.some((item) => item.entry && getObjectKey(item.collection, item.pk) === getObjectKey(entry.collection, entry.pk))) {
        problems.push(`[6 quarantine] ${device.name}'s unsent entry ${entryKey(entry.deviceId, entry.createdOn)} is not in the outgoing quarantine`)
      }
    }
  }
  return problems
}
