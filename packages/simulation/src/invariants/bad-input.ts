import { getQuarantineId } from '@storex-sync/client-sync-log'
import stringify from '../internal/stable-stringify'
import { entryKeyOf, type FinalState } from './final-state'

/**
 * Bad input stays where it belongs. Every rogue entry is in every device's
 * quarantine, and nothing else is. With a replica, a device that started
 * from a snapshot never reads the rogue entries the replica keeps aside
 * itself: it must hold no others, and someone must hold each. Each device's
 * unsynced collections hold its own local writes only.
 */
export function checkBadInput(state: FinalState): string[] {
  const problems: string[] = []
  const expectedQuarantine = new Set(state.rogueEntries.map((entry) => getQuarantineId(entry.deviceId, entry.createdOn)))
  /** Quarantine ids held by some device (or the replica): nothing bad is dropped. */
  const keptAside = new Set<string>(state.replica?.quarantinedIds)
  for (const device of state.devices) {
    for (const [collection, objects] of device.localObjects) {
      const foreign = objects.filter((object) => !String(object['id']).startsWith(`${device.name}-local-`))
      if (foreign.length) {
        problems.push(`[bad input] ${device.name}'s unsynced collection ${collection} holds another device's objects: ${foreign.map((object) => object['id']).join(', ')}`)
      }
    }
    const quarantined = new Set(device.quarantined.map((entry) => entry.id))
    quarantined.forEach((id) => keptAside.add(id))
    const mismatch = state.replica
      ? [...quarantined].some((id) => !expectedQuarantine.has(id))
      : stringify([...quarantined].sort()) !== stringify([...expectedQuarantine].sort())
    if (mismatch) {
      const extra = device.quarantined.filter((entry) => !expectedQuarantine.has(entry.id)).map((entry) => `${entry.reason}: ${entry.message}`)
      problems.push(
        `[bad input] ${device.name} quarantined ${quarantined.size} entries, expected exactly the ${expectedQuarantine.size} rogue ones${extra.length ? `; not rogue: ${extra.join('; ')}` : ''}`,
      )
    }
  }
  if (state.replica) {
    for (const rogue of state.rogueEntries) {
      if (!keptAside.has(getQuarantineId(rogue.deviceId, rogue.createdOn))) {
        problems.push(`[bad input] the rogue entry ${entryKeyOf(rogue)} was dropped: neither a device nor the replica keeps it aside`)
      }
    }
  }
  return problems
}
