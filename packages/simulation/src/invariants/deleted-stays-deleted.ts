import { describeDifference, diffContents } from './expected-state'
import type { FinalState } from './final-state'

/**
 * Invariant 4 (under `expectedState`): a deleted object stays deleted
 * unless it was created again later.
 */
export function checkDeletedStaysDeleted(state: FinalState): string[] {
  const { expected } = state
  if (!expected) return []
  const problems: string[] = []
  for (const device of state.devices) {
    for (const difference of diffContents(device.contents, expected.contents)) {
      const history = expected.states.get(difference.key)
      if (difference.kind === 'unexpected' && history) problems.push(describeDifference(device.name, difference, history))
    }
  }
  return problems
}
