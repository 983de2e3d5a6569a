import type { SyncOptions, SyncProgress, SyncResult, SyncStage } from './types'

/** How long to wait after a failed sync: exponential, with jitter. */
export interface ContinuousSyncBackoff {
  /** Delay after the first failure (ms). Default 2000. */
  initialMs?: number
  /** Largest delay (ms). Default 300000 (5 minutes). */
  maxMs?: number
  /** Growth per consecutive failure. Default 2. */
  factor?: number
  /** Share of the delay that is random, 0..1: delay * (1 - jitter * random()). Default 0.5. */
  jitter?: number
}

/** Counts of one sync so far; `quarantined` is 0 where the orchestrator does not report it. */
export interface ContinuousSyncCounts {
  sent: number
  received: number
  integrated: number
  quarantined: number
}

export type ContinuousSyncReason = 'start' | 'interval' | 'local-write' | 'retry' | 'resume' | 'manual' | 'remote-write' | 'credentials'

export interface ContinuousSyncEventMap {
  started: { reason: ContinuousSyncReason; attempt: number }
  progress: ContinuousSyncCounts
  /**
   * How far a long step of the running sync is, with totals: the start from
   * the replica's snapshot (objects, entries, bytes) and reading the log
   * (entries): doSync's `progress` event, for a progress bar.
   */
  syncProgress: SyncProgress
  finished: ContinuousSyncCounts & { durationMs: number; result: SyncResult }
  /** A sync failed; the next attempt is `retryInMs` away (null when paused or stopped). */
  error: { error: unknown; consecutiveFailures: number; retryInMs: number | null }
  /**
   * The shared log refused the credentials (a 401): no more syncs until
   * `credentialsRenewed()` is called (after the user signed in again).
   */
  auth: { error: unknown }
}

export type ContinuousSyncEventName = keyof ContinuousSyncEventMap

export type ContinuousSyncState = 'stopped' | 'running' | 'paused'

export interface ContinuousSyncStatus {
  state: ContinuousSyncState
  /** True while a sync is in flight. */
  syncing: boolean
  /** When the last successful sync finished (ms since epoch), or null. */
  lastSyncAt: number | null
  /** Counts of the last successful sync. */
  lastCounts: ContinuousSyncCounts | null
  /** The error of the last sync if it failed; null after a success. */
  lastError: unknown
  consecutiveFailures: number
  /** From clientSyncLog.countPending(), refreshed after each sync and local write. Null until first read. */
  pendingChanges: { unshared: number; needsIntegration: number } | null
  /** When the next sync is planned (ms since epoch), or null. */
  nextSyncAt: number | null
  /** Own entries in the outgoing quarantine (refused by the shared log), refreshed like pendingChanges. Null until first read. */
  outgoingQuarantined: number | null
  /** The last failure of each stage since it last succeeded: `{ error, at }`. The sync doctor reads it. */
  stageErrors: Partial<Record<SyncStage, { error: unknown; at: number }>>
  /** True after the shared log refused the credentials, until `credentialsRenewed()`. */
  authRequired: boolean
}

/** Anything that tells of local writes through a listener list, like SyncLoggingMiddleware. */
export interface LocalWriteSource {
  /** Adds a listener; returns a function that removes it. */
  onEntriesLogged(listener: (info: { entries: number }) => void): () => void
}

export interface ContinuousSyncOptions extends Omit<SyncOptions, 'now'> {
  /** Sync this often (ms) while running. Default 60000; 0 turns periodic syncs off. */
  intervalMs?: number
  /** Sync this long (ms) after the last local write. Default 1000. */
  debounceMs?: number
  /** Delay after failures. */
  backoff?: ContinuousSyncBackoff
  /** Sync as soon as start() is called. Default true. */
  syncOnStart?: boolean
  /**
   * Learn about local writes from this middleware (a listener of its
   * `onEntriesLogged`, from start() until stop(); other listeners stay).
   * Writes in other tabs over the same database are heard through
   * `clientSyncLog.onChange` either way.
   */
  loggingMiddleware?: LocalWriteSource
  /** Wall clock (ms), passed to doSync as `now` and used in the status. Default Date.now. */
  getNow?: () => number
  /** Random number in [0, 1) for the jitter. Default Math.random. */
  random?: () => number
  /**
   * Live updates: called on start() with a function to call whenever the
   * shared log has something new for this device (another device wrote);
   * returns an unsubscribe function, called on stop(). A sync follows at once.
   * The interval stays as the fallback. E.g. `(onChange) =>
   * httpSharedSyncLog.subscribe({ userId, deviceId, onChange })`.
   */
  subscribeToChanges?: (onChange: () => void) => () => void
}
