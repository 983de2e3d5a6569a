import { doSync } from './do-sync'
import { validateSyncOptions } from './options'
import { SyncOrchestratorError } from './errors'
import type {
  ContinuousSyncBackoff,
  ContinuousSyncCounts,
  ContinuousSyncEventMap,
  ContinuousSyncEventName,
  ContinuousSyncOptions,
  ContinuousSyncReason,
  ContinuousSyncState,
  ContinuousSyncStatus,
  LocalWriteSource,
} from './continuous-sync-types'
import { checkDuration, countsOf, isAuthFailure } from './internal/continuous-helpers'
import type { SyncOptions, SyncResult, SyncStage } from './types'


type Listener<Name extends ContinuousSyncEventName> = (payload: ContinuousSyncEventMap[Name]) => void

interface Waiter {
  resolve(result: SyncResult): void
  reject(error: unknown): void
}

/**
 * Runs doSync by itself: on an interval, shortly after local writes
 * (debounced), never two at once, with exponential backoff and jitter after
 * failures. `start()`, `pause()`, `resume()`, `stop()`; listen with `on()`.
 */
export class ContinuousSync {
  private readonly syncOptions: Omit<SyncOptions, 'now'>
  private readonly intervalMs: number
  private readonly debounceMs: number
  private readonly backoff: Required<ContinuousSyncBackoff>
  private readonly syncOnStart: boolean
  private readonly getNow: () => number
  private readonly random: () => number
  private readonly loggingMiddleware: LocalWriteSource | undefined
  private readonly listeners = new Map<ContinuousSyncEventName, Set<Listener<any>>>()

  private state: ContinuousSyncState = 'stopped'
  private timer: ReturnType<typeof setTimeout> | null = null
  private timerDue: number | null = null
  private timerReason: ContinuousSyncReason | null = null
  private current: Promise<void> | null = null
  private again: ContinuousSyncReason | null = null
  private waiters: Waiter[] = []
  private failures = 0
  private lastSyncAt: number | null = null
  private lastCounts: ContinuousSyncCounts | null = null
  private lastError: unknown = null
  private pendingChanges: ContinuousSyncStatus['pendingChanges'] = null
  private unsubscribers: Array<() => void> = []
  /** Status reads in flight; stop() waits for them, so none reads a database the app closes after stop(). */
  private readonly refreshes = new Set<Promise<void>>()
  private outgoingQuarantined: number | null = null
  private stageErrors: ContinuousSyncStatus['stageErrors'] = {}
  private authRequired = false
  private readonly subscribeToChanges: ContinuousSyncOptions['subscribeToChanges']

  constructor(options: ContinuousSyncOptions) {
    const { intervalMs, debounceMs, backoff, syncOnStart, loggingMiddleware, getNow, random, subscribeToChanges, ...syncOptions } = options
    this.subscribeToChanges = subscribeToChanges
    if ('now' in syncOptions) {
      delete (syncOptions as { now?: unknown }).now
    }
    const stages = (['receive', 'share', 'integrate'] as const).filter((stage) => syncOptions.stages?.[stage] !== false)
    validateSyncOptions(syncOptions, [...stages])
    this.syncOptions = syncOptions
    this.intervalMs = checkDuration(intervalMs, 60_000, 'intervalMs', true)
    this.debounceMs = checkDuration(debounceMs, 1000, 'debounceMs', true)
    this.backoff = {
      initialMs: checkDuration(backoff?.initialMs, 2000, 'backoff.initialMs', false),
      maxMs: checkDuration(backoff?.maxMs, 300_000, 'backoff.maxMs', false),
      factor: backoff?.factor ?? 2,
      jitter: backoff?.jitter ?? 0.5,
    }
    if (!(this.backoff.factor >= 1) || !(this.backoff.jitter >= 0 && this.backoff.jitter <= 1)) {
      throw new SyncOrchestratorError(
        'INVALID_OPTION',
        `ContinuousSync backoff needs factor >= 1 and 0 <= jitter <= 1, got factor ${String(this.backoff.factor)}, jitter ${String(this.backoff.jitter)}.`,
      )
    }
    this.syncOnStart = syncOnStart ?? true
    this.getNow = getNow ?? (() => Date.now())
    this.random = random ?? Math.random
    this.loggingMiddleware = loggingMiddleware
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<Name extends ContinuousSyncEventName>(event: Name, listener: Listener<Name>): () => void {
    const set = this.listeners.get(event) ?? new Set()
    set.add(listener)
    this.listeners.set(event, set)
    return () => this.off(event, listener)
  }

  off<Name extends ContinuousSyncEventName>(event: Name, listener: Listener<Name>): void {
    this.listeners.get(event)?.delete(listener)
  }

  get status(): ContinuousSyncStatus {
    return {
      state: this.state,
      syncing: this.current !== null,
      lastSyncAt: this.lastSyncAt,
      lastCounts: this.lastCounts,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      pendingChanges: this.pendingChanges,
      nextSyncAt: this.timerDue,
      outgoingQuarantined: this.outgoingQuarantined,
      stageErrors: { ...this.stageErrors },
      authRequired: this.authRequired,
    }
  }

  /** The status with pending changes read from the client sync log now. */
  async getStatus(): Promise<ContinuousSyncStatus> {
    await this.refreshPending()
    return this.status
  }

  /** Starts syncing (right away unless syncOnStart is false), then on the interval. */
  start(): void {
    if (this.state !== 'stopped') {
      return
    }
    this.state = 'running'
    if (this.loggingMiddleware) {
      this.unsubscribers.push(this.loggingMiddleware.onEntriesLogged(() => this.notifyLocalWrite()))
    }
    const clientSyncLog = this.syncOptions.clientSyncLog
    if (typeof clientSyncLog.onChange === 'function') {
      // Another tab's write: sync it soon (one sync at a time runs per device across tabs).
      this.unsubscribers.push(
        clientSyncLog.onChange((change) => {
          if (change.origin === 'other-instance' && change.kind === 'logged') {
            this.notifyLocalWrite()
          } else if (change.origin === 'other-instance') {
            void this.refreshPending()
          }
        }),
      )
    }
    if (this.subscribeToChanges) {
      try {
        const unsubscribe = this.subscribeToChanges(() => {
          if (this.state === 'running' && this.failures === 0) this.request('remote-write')
        })
        this.unsubscribers.push(() => {
          try {
            unsubscribe()
          } catch {
            // ignore: stopping must not fail
          }
        })
      } catch {
        // no live updates: the interval still syncs
      }
    }
    if (this.syncOnStart) {
      this.request('start')
    } else {
      this.scheduleNext()
    }
  }

  /** Stops timers; a sync in flight finishes (awaited). Local writes still mark pending changes. */
  pause(): void {
    if (this.state !== 'running') {
      return
    }
    this.state = 'paused'
    this.clearTimer()
  }

  /** Resumes after pause() with a sync right away (backoff is reset). */
  resume(): void {
    if (this.state !== 'paused') {
      return
    }
    this.state = 'running'
    this.failures = 0
    this.request('resume')
  }

  /** Stops for good (start() may be called again); resolves when a sync in flight has ended. */
  async stop(): Promise<void> {
    this.state = 'stopped'
    this.again = null
    this.clearTimer()
    for (const unsubscribe of this.unsubscribers.splice(0)) {
      unsubscribe()
    }
    while (this.current) {
      await this.current
    }
    await Promise.all([...this.refreshes])
  }

  /**
   * Tells that the app wrote to a synced collection: a sync follows after
   * debounceMs of quiet (not while backing off after a failure).
   */
  notifyLocalWrite(): void {
    void this.refreshPending()
    if (this.state !== 'running') {
      return
    }
    if (this.current) {
      this.again = this.again ?? 'local-write'
      return
    }
    if (this.failures > 0 || this.authRequired) {
      return // the retry timer will sync; do not hammer a failing log
    }
    this.setTimer(this.debounceMs, 'local-write', true)
  }

  /**
   * Syncs as soon as possible (after the sync in flight, if any), ignoring
   * backoff; resolves with that sync's result or rejects with its error.
   * Works in any state, also when stopped or paused.
   */
  /**
   * After a 401 (`auth` event, `status.authRequired`): call once the shared
   * log has new credentials (e.g. `httpSharedSyncLog.setToken(token)`);
   * syncing resumes at once.
   */
  credentialsRenewed(): void {
    this.authRequired = false
    this.failures = 0
    if (this.state === 'running') this.request('credentials')
  }

  syncNow(): Promise<SyncResult> {
    const promise = new Promise<SyncResult>((resolve, reject) => this.waiters.push({ resolve, reject }))
    this.request('manual', true)
    return promise
  }

  private request(reason: ContinuousSyncReason, force = false): void {
    if (this.current) {
      this.again = this.again ?? reason
      return
    }
    if (!force && (this.state !== 'running' || this.authRequired)) {
      return
    }
    this.clearTimer()
    this.current = this.run(reason).finally(() => {
      this.current = null
      const next = this.again
      this.again = null
      if (this.waiters.length) {
        this.request('manual', true)
      } else if (next && this.state === 'running' && this.failures === 0) {
        this.request(next)
      } else if (!this.timer) {
        this.scheduleNext()
      }
    })
  }

  private async run(reason: ContinuousSyncReason): Promise<void> {
    const waiters = this.waiters
    this.waiters = []
    const started = this.getNow()
    const progress: ContinuousSyncCounts = { sent: 0, received: 0, integrated: 0, quarantined: 0 }
    const userEvents = this.syncOptions.events
    const events = {
      emit: (name: string, payload: any) => {
        userEvents?.emit(name, payload)
        if (name === 'syncFailed') this.stageErrors[payload.stage as SyncStage] = { error: payload.error, at: this.getNow() }
        else if (name === 'stageFinished') delete this.stageErrors[payload.stage as SyncStage]
        let changed = true
        if (name === 'receivedEntries') progress.received += payload.entries ?? 0
        else if (name === 'sentEntries') progress.sent += payload.entries ?? 0
        else if (name === 'integratedEntries') progress.integrated += payload.entries ?? 0
        else changed = false
        if (typeof payload?.quarantined === 'number') {
          progress.quarantined += payload.quarantined
          changed = true
        }
        if (changed) this.emit('progress', { ...progress })
        if (name === 'progress') this.emit('syncProgress', payload)
      },
    }
    this.emit('started', { reason, attempt: this.failures + 1 })
    try {
      const result = await doSync({ ...this.syncOptions, now: this.getNow(), events })
      this.failures = 0
      this.authRequired = false
      this.lastError = null
      this.lastSyncAt = this.getNow()
      this.lastCounts = countsOf(result)
      await this.refreshPending()
      this.emit('finished', { ...this.lastCounts, durationMs: Math.max(0, this.getNow() - started), result })
      for (const waiter of waiters) waiter.resolve(result)
    } catch (error) {
      this.failures += 1
      this.lastError = error
      // A refused credential is not retried: the same token would be refused again.
      this.authRequired = isAuthFailure(error)
      await this.refreshPending()
      const retryInMs = this.state === 'running' && !this.authRequired ? this.retryDelay() : null
      if (retryInMs !== null) {
        this.setTimer(retryInMs, 'retry', false)
      } else if (this.authRequired) {
        this.clearTimer()
      }
      this.emit('error', { error, consecutiveFailures: this.failures, retryInMs })
      if (this.authRequired) this.emit('auth', { error })
      for (const waiter of waiters) waiter.reject(error)
    }
  }

  /** min(maxMs, initialMs * factor^(failures-1)), minus up to `jitter` of it at random. */
  private retryDelay(): number {
    const { initialMs, maxMs, factor, jitter } = this.backoff
    const base = Math.min(maxMs, initialMs * factor ** (this.failures - 1))
    return Math.round(base * (1 - jitter * this.random()))
  }

  private scheduleNext(): void {
    if (this.state === 'running' && this.intervalMs > 0 && !this.authRequired) {
      this.setTimer(this.intervalMs, 'interval', false)
    }
  }

  /** One timer at a time; an earlier one wins unless `replace` (debounce: the last write counts). */
  private setTimer(delayMs: number, reason: ContinuousSyncReason, replace: boolean): void {
    const due = this.getNow() + delayMs
    if (this.timer && !replace && this.timerDue !== null && this.timerDue <= due) {
      return
    }
    if (this.timer && replace && this.timerReason !== 'local-write' && this.timerDue !== null && this.timerDue <= due) {
      return // an interval sync comes sooner anyway
    }
    this.clearTimer()
    this.timerDue = due
    this.timerReason = reason
    this.timer = setTimeout(() => {
      this.timer = null
      this.timerDue = null
      this.timerReason = null
      this.request(reason)
    }, delayMs)
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer)
    }
    this.timer = null
    this.timerDue = null
    this.timerReason = null
  }

  private refreshPending(): Promise<void> {
    const refresh = (async () => {
      try {
        this.pendingChanges = await this.syncOptions.clientSyncLog.countPending()
        if (typeof this.syncOptions.clientSyncLog.countOutgoingQuarantinedEntries === 'function') {
          this.outgoingQuarantined = await this.syncOptions.clientSyncLog.countOutgoingQuarantinedEntries()
        }
      } catch {
        // A status read must not fail the sync; the counts stay as they were.
      }
    })()
    this.refreshes.add(refresh)
    return refresh.finally(() => this.refreshes.delete(refresh))
  }

  private emit<Name extends ContinuousSyncEventName>(event: Name, payload: ContinuousSyncEventMap[Name]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(payload)
      } catch {
        // A listener's bug must not stop syncing.
      }
    }
  }
}
