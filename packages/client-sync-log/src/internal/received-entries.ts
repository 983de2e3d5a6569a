import type { ClientSyncLogEntry, ReceivedClientSyncLogEntry } from '../types'
import { getEntryId, validateEntry } from './entries'

/**
 * Entries from the shared log (a sync page or a snapshot page) as log
 * entries shared at `now`, under their ids, the first of each id kept. Each
 * is checked against this device's wall clock (`label` names it in the
 * error): the clock observes them, so one far in the future must not pass.
 */
export function receivedEntriesById(
  entries: ReceivedClientSyncLogEntry[],
  options: { now: number; needsIntegration: boolean; label: string },
): Map<string, ClientSyncLogEntry> {
  const { now: sharedOn, needsIntegration } = options
  const byId = new Map<string, ClientSyncLogEntry>()
  entries.forEach((received, index) => {
    // Spelled out, not spread: two shapes for hundreds of thousands of entries.
    const { deviceId, createdOn, operation, collection, pk } = received
    const entry = (
      operation === 'delete'
        ? { deviceId, createdOn, operation, collection, pk, sharedOn, needsIntegration }
        : { deviceId, createdOn, operation, collection, pk, value: received.value, sharedOn, needsIntegration }
    ) as ClientSyncLogEntry
    validateEntry(entry, () => `${options.label} #${index}`, { now: options.now })
    const id = getEntryId(deviceId, createdOn)
    if (!byId.has(id)) {
      byId.set(id, entry)
    }
  })
  return byId
}
