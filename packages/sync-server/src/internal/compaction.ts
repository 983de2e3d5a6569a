import type { DeviceId } from '@storex-sync/shared-sync-log-core'
import type { SyncReplica } from '@storex-sync/replica'
import type { UserLock } from './postgres-lock'

export interface CompactionProgress {
  /** Users compacted so far (failed ones included), of `usersTotal`. */
  usersDone: number
  usersTotal: number
  /** Entries deleted so far in this pass. */
  deletedEntries: number
  /** Devices retired so far in this pass. */
  retiredDevices: number
  /** The user just done. */
  userId: string
}

export interface CompactionPassResult {
  users: number
  deletedEntries: number
  retiredDevices: number
  /** Users whose compaction failed (their log is left as it was; the next pass tries again). */
  failures: Array<{ userId: string; error: unknown }>
}

export interface CompactionPassOptions {
  replica: SyncReplica
  lock: UserLock
  retentionMs: number
  /** Wall-clock time of the pass (default: now, per user). */
  now?: number
  /** After each user. */
  onProgress?: (progress: CompactionProgress) => void
  /** Per user, with what it did (for metrics and logs). */
  onUser?: (userId: string, result: { deletedEntries: number; retiredDevices: DeviceId[] }) => void
  /** Checked between users: true stops the pass there. */
  shouldStop?: () => boolean
}

/**
 * One compaction of every user the replica knows, one user at a time, each
 * through `replica.compact()` (it catches up first, so no entry the replica
 * has not integrated is deleted) under the user's lock. A failing user is
 * reported and skipped. Users the replica does not know yet (no write since
 * the replica was turned on) are left alone: their logs stay as they are.
 */
export async function compactAllUsers(options: CompactionPassOptions): Promise<CompactionPassResult> {
  const users = await options.replica.listUsers()
  const result: CompactionPassResult = { users: users.length, deletedEntries: 0, retiredDevices: 0, failures: [] }
  let done = 0
  for (const userId of users) {
    if (options.shouldStop?.()) break
    try {
      const compacted = await options.lock.run(userId, () =>
        options.replica.compact({ userId, retentionMs: options.retentionMs, ...(options.now !== undefined ? { now: options.now } : {}) }),
      )
      result.deletedEntries += compacted.deletedEntries
      result.retiredDevices += compacted.retiredDevices.length
      options.onUser?.(userId, compacted)
    } catch (error) {
      result.failures.push({ userId, error })
    }
    done += 1
    options.onProgress?.({ usersDone: done, usersTotal: users.length, deletedEntries: result.deletedEntries, retiredDevices: result.retiredDevices, userId })
  }
  return result
}

/**
 * Runs `compactAllUsers` every `intervalMs` (the first pass one interval
 * after start), never two passes at once. `stop()` lets the user being
 * compacted finish, then ends the pass.
 */
export class CompactionScheduler {
  private timer: ReturnType<typeof setInterval> | null = null
  private current: Promise<unknown> | null = null
  private stopping = false

  constructor(
    private readonly intervalMs: number,
    private readonly pass: (shouldStop: () => boolean) => Promise<unknown>,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.runOnce(), this.intervalMs)
    this.timer.unref?.()
  }

  /** Starts a pass now unless one runs; resolves when it ends. */
  runOnce(): Promise<unknown> {
    if (!this.current && !this.stopping) {
      this.current = this.pass(() => this.stopping).finally(() => {
        this.current = null
      })
    }
    return this.current ?? Promise.resolve()
  }

  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    await this.current?.catch(() => {})
  }
}
