import { getObjectKey } from '@storex-sync/client-sync-log'
import stringify from '../internal/stable-stringify'
import { entryKeyOf, type FinalState } from './final-state'

/**
 * Invariant 3: nothing is duplicated (no entry twice in the shared log or a
 * device's log, no object twice on a device), and nothing is left awaiting
 * integration or sending after the final round.
 */
export function checkNoDuplicates(state: FinalState): string[] {
  const problems: string[] = []
  const sharedKeys = new Set(state.shared.map(entryKeyOf))
  if (sharedKeys.size !== state.shared.length) {
    problems.push(`[3 duplicated] the shared log holds ${state.shared.length - sharedKeys.size} entries more than once`)
  }
  for (const device of state.devices) {
    for (const [collection, objects] of device.objects) {
      const seen = new Set<string>()
      for (const object of objects) {
        const objectKey = getObjectKey(collection, object['id'])
        if (seen.has(objectKey)) problems.push(`[3 duplicated] ${device.name} holds ${objectKey} twice`)
        seen.add(objectKey)
      }
    }
    const keys = device.entries.map(entryKeyOf)
    if (new Set(keys).size !== keys.length) {
      problems.push(`[3 duplicated] ${device.name}'s log holds an entry twice`)
    }
    for (const entry of device.entries) {
      if (entry.needsIntegration) {
        problems.push(`[3 pending] ${device.name} still has entry ${entryKeyOf(entry)} awaiting integration after the final round`)
      }
    }
    if (device.pending.unshared || device.pending.needsIntegration) {
      problems.push(`[3 pending] ${device.name} has ${stringify(device.pending)} pending after the final round`)
    }
  }
  return problems
}
