import { getObjectKey } from '@storex-sync/client-sync-log'
import stringify from '../internal/stable-stringify'
import { describeDifference, diffContents } from './expected-state'
import { entryKeyOf, type FinalState } from './final-state'

/**
 * Invariant 2: no acknowledged write is lost. Every own entry reached the
 * shared log; every device holds its own writes to unsynced collections;
 * under `expectedState`, an object created and never deleted exists
 * everywhere and each field holds its last writer's value, and nothing
 * exists that no entry created.
 */
export function checkNoLostWrite(state: FinalState): string[] {
  const problems: string[] = []
  const sharedKeys = new Set(state.shared.map(entryKeyOf))
  for (const device of state.devices) {
    for (const entry of device.entries) {
      if (entry.sharedOn === null) {
        problems.push(`[2 unsent] ${device.name} never sent its entry ${entryKeyOf(entry)} (${entry.operation} ${getObjectKey(entry.collection, entry.pk)})`)
      }
      if (stringify(entry.deviceId) === stringify(device.deviceId) && !sharedKeys.has(entryKeyOf(entry))) {
        problems.push(`[2 lost write] ${device.name}'s entry ${entryKeyOf(entry)} is marked shared but the shared log does not have it`)
      }
    }
    const local = [...device.localObjects.values()].reduce((count, objects) => count + objects.length, 0)
    if (local !== device.localWrites) {
      problems.push(`[2 lost write] ${device.name} wrote ${device.localWrites} objects to unsynced collections but holds ${local}`)
    }
  }
  const { expected } = state
  if (!expected) return problems
  for (const device of state.devices) {
    for (const difference of diffContents(device.contents, expected.contents)) {
      const history = expected.states.get(difference.key)
      // An object that exists against its history is invariant 4's.
      if (difference.kind === 'unexpected' && history) continue
      problems.push(describeDifference(device.name, difference, history))
    }
  }
  return problems
}
