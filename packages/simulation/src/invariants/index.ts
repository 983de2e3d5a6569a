import { checkBadInput } from './bad-input'
import { checkDeletedStaysDeleted } from './deleted-stays-deleted'
import type { FinalState } from './final-state'
import { checkIdentical } from './identical'
import { checkNoDuplicates } from './no-duplicates'
import { checkNoLostWrite } from './no-lost-write'
import { checkReplica } from './replica'

export { foldHistories, lastWriterWins } from './expected-state'
export type { DeviceContents, ExpectedStateFunction } from './expected-state'
export { readFinalState, type FinalState } from './final-state'

/**
 * Every invariant checked on the state after the final round; each violation
 * starts with its invariant's number. Invariant 5 (the cursor) is checked at
 * every markAsSeen, invariant 6 (the outgoing quarantines) during the final
 * round, and unexpected errors wherever they happen.
 */
export function checkFinalState(state: FinalState): string[] {
  return [
    ...checkIdentical(state),
    ...checkNoLostWrite(state),
    ...checkNoDuplicates(state),
    ...checkDeletedStaysDeleted(state),
    ...checkReplica(state),
    ...checkBadInput(state),
  ]
}
