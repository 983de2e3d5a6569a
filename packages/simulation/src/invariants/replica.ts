import { reviveDateFields } from '@storex-sync/client-sync-log'
import stringify from '../internal/stable-stringify'
import { normalizeObject } from '../schema'
import type { FinalState } from './final-state'

/**
 * Invariant 7 (with a replica): after a last catch-up, the replica holds
 * exactly the devices' data in every synced collection.
 */
export function checkReplica(state: FinalState): string[] {
  const { replica, registry } = state
  if (!replica) return []
  const problems: string[] = []
  const deviceContents = state.devices[0].contents
  for (const collection of state.synced) {
    const expected = deviceContents[collection] ?? {}
    const actual = replica.objects[collection] ?? {}
    for (const objectKey of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const replicaObject = actual[objectKey]
      const normalized = replicaObject ? normalizeObject(registry, collection, reviveDateFields(registry, collection, replicaObject)) : undefined
      if (stringify(normalized) !== stringify(expected[objectKey])) {
        problems.push(`[7 replica] the replica holds ${objectKey} as ${stringify(normalized) ?? 'absent'}, the devices as ${stringify(expected[objectKey]) ?? 'absent'}`)
      }
    }
  }
  return problems
}
