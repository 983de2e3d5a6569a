import { describe } from 'vitest'
import { describeCompaction } from './internal/compaction-tests'
import type { ConformanceContext } from './internal/conformance-helpers'
import { describeDevices } from './internal/device-tests'
import { describeInput } from './internal/input-tests'
import { describeIsolationAndFidelity } from './internal/isolation-tests'
import { describeReading } from './internal/read-tests'
import type { SharedSyncLog, UserId } from './types'

export interface SharedSyncLogTestSetup {
  sharedSyncLog: SharedSyncLog
  /** Called after each test, also when it failed. Without it the suite calls `sharedSyncLog.close()` where the log has one. */
  cleanup?: () => Promise<void>
  /**
   * The type of device ids the log hands out, if known: 'int' ids must be
   * integers, 'string' ids non-empty strings. Without it the suite only
   * checks that all ids have one type.
   */
  deviceIdType?: 'int' | 'string'
  /**
   * Two different users the log serves, whose data the suite writes and
   * reads (default `[1, 2]`), e.g. the users a server's test tokens name.
   */
  userIds?: [UserId, UserId]
}

/**
 * The conformance suite for `SharedSyncLog` implementations, on vitest: the
 * whole contract of the interface, from devices and cursors to bad input and
 * the optional `compact()` and `close()`. `setup` is called for every test
 * and must return a log with no data in it.
 *
 * ```ts
 * import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
 * runSharedSyncLogTests('my log', async () => ({ sharedSyncLog: new MyLog(), cleanup: async () => {} }))
 * ```
 */
export function runSharedSyncLogTests(name: string, setup: () => Promise<SharedSyncLogTestSetup>): void {
  const withLog = (test: (context: ConformanceContext) => Promise<void>) => async () => {
    const context = await setup()
    const [user, otherUser] = context.userIds ?? [1, 2]
    try {
      await test({ log: context.sharedSyncLog, deviceIdType: context.deviceIdType, user, otherUser })
    } finally {
      if (context.cleanup) await context.cleanup()
      else await context.sharedSyncLog.close?.()
    }
  }

  describe(`SharedSyncLog conformance: ${name}`, () => {
    describeCompaction(withLog)
    describeDevices(withLog)
    describeReading(withLog)
    describeIsolationAndFidelity(withLog)
    describeInput(withLog)
  })
}
