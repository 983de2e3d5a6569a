import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { clientBackends } from '@storex-sync/test-backends'
import {
  ContinuousSync,
  SyncOrchestratorError,
  type ContinuousSyncEventMap,
  type ContinuousSyncOptions,
} from '@storex-sync/sync-orchestrator'
import { createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'

/**
 * A shared log that can be broken (every call rejects) and held (reads wait
 * until released), and counts the reads in flight.
 */
class ControlledSharedSyncLog implements SharedSyncLog {
  broken = false
  reads = 0
  inFlight = 0
  maxInFlight = 0
  private gate: Promise<void> | null = null
  private openGate: (() => void) | null = null
  constructor(private readonly inner: SharedSyncLog) {}

  hold() {
    this.gate = new Promise((resolve) => (this.openGate = resolve))
  }
  release() {
    this.openGate?.()
    this.gate = null
  }
  private check(method: string) {
    if (this.broken) {
      throw new Error(`shared log down (${method})`)
    }
  }
  createDeviceId: SharedSyncLog['createDeviceId'] = (options) => this.inner.createDeviceId(options)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = (options) => this.inner.getDeviceInfo(options)
  writeEntries: SharedSyncLog['writeEntries'] = async (entries, options) => {
    this.check('writeEntries')
    return this.inner.writeEntries(entries, options)
  }
  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = async (options) => {
    this.reads += 1
    this.inFlight += 1
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      if (this.gate) await this.gate
      this.check('getUnsyncedEntries')
      return await this.inner.getUnsyncedEntries(options)
    } finally {
      this.inFlight -= 1
    }
  }
  markAsSeen: SharedSyncLog['markAsSeen'] = async (update, options) => {
    this.check('markAsSeen')
    return this.inner.markAsSeen(update, options)
  }
}

// Captured before fake timers are installed: waits below run in real time
// (vi.waitFor would advance the fake clock).
const realSetTimeout = globalThis.setTimeout
const sleep = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms))

/** Lets real database work (fake-indexeddb, better-sqlite3) run between fake-timer steps. */
const settle = () => sleep(30)

/** Retries `check` in real time until it stops throwing. */
async function eventually(check: () => void, timeoutMs = 5_000) {
  const end = performance.now() + timeoutMs
  for (;;) {
    try {
      return check()
    } catch (error) {
      if (performance.now() > end) throw error
      await sleep(5)
    }
  }
}

describe.each(clientBackends)('ContinuousSync on $kind', ({ kind }) => {
  let log: ControlledSharedSyncLog
  let device: TestDevice
  let other: TestDevice
  let continuous: ContinuousSync | null
  let events: Array<[keyof ContinuousSyncEventMap, any]>

  beforeEach(async () => {
    log = new ControlledSharedSyncLog(new MemorySharedSyncLog())
    device = await createTestDevice({ name: 'one', kind, sharedSyncLog: log, userId: USER })
    other = await createTestDevice({ name: 'two', kind, sharedSyncLog: log, userId: USER })
    continuous = null
    events = []
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_700_000_000_000 })
  })
  afterEach(async () => {
    await continuous?.stop()
    vi.useRealTimers()
    await device.storage.cleanup()
    await other.storage.cleanup()
  })

  function startContinuous(options: Partial<ContinuousSyncOptions> = {}) {
    continuous = new ContinuousSync({
      storageManager: device.storageManager,
      clientSyncLog: device.clientSyncLog,
      sharedSyncLog: log,
      reconciler: reconcileSyncLog,
      userId: USER,
      deviceId: device.deviceId,
      loggingMiddleware: device.logging,
      intervalMs: 60_000,
      debounceMs: 1_000,
      backoff: { initialMs: 1_000, maxMs: 8_000, factor: 2, jitter: 0.5 },
      random: () => 0.5,
      ...options,
    })
    for (const name of ['started', 'progress', 'finished', 'error'] as const) {
      continuous.on(name, (payload) => events.push([name, payload]))
    }
    continuous.start()
    return continuous
  }
  const finishedCount = () => events.filter(([name]) => name === 'finished').length
  const startedCount = () => events.filter(([name]) => name === 'started').length
  /** Waits (in real time) until `count` syncs have finished or failed. */
  const syncsDone = (count: number) =>
    eventually(() => expect(events.filter(([name]) => name === 'finished' || name === 'error').length).toBe(count))

  it('syncs on start and then on every interval, not in between', async () => {
    startContinuous()
    await syncsDone(1)
    expect(events[0]).toEqual(['started', { reason: 'start', attempt: 1 }])
    await vi.advanceTimersByTimeAsync(59_000)
    await settle()
    expect(startedCount()).toBe(1)
    await other.storageManager.collection('note').createObject({ title: 'from two' })
    await other.sync()
    await vi.advanceTimersByTimeAsync(1_000)
    await syncsDone(2)
    expect(events.filter(([name]) => name === 'started').map(([, payload]) => payload.reason)).toEqual(['start', 'interval'])
    expect((await device.contents())['note']).toEqual([expect.objectContaining({ title: 'from two' })])
    await vi.advanceTimersByTimeAsync(60_000)
    await syncsDone(3)
  })

  it('syncs once, debounceMs after the last of several local writes, learning about them from the logging middleware', async () => {
    startContinuous()
    await syncsDone(1)
    const notes = device.storageManager.collection('note')
    await notes.createObject({ title: 'a' })
    await vi.advanceTimersByTimeAsync(600)
    await notes.createObject({ title: 'b' })
    await vi.advanceTimersByTimeAsync(600)
    await notes.createObject({ title: 'c' })
    await vi.advanceTimersByTimeAsync(999)
    await settle()
    expect(startedCount()).toBe(1)
    expect(continuous!.status.pendingChanges).toEqual({ unshared: 3, needsIntegration: 0 })
    await vi.advanceTimersByTimeAsync(1)
    await syncsDone(2)
    expect(events.filter(([name]) => name === 'started')[1]![1]).toEqual({ reason: 'local-write', attempt: 1 })
    const finished = events.filter(([name]) => name === 'finished')[1]![1]
    expect(finished).toMatchObject({ sent: 3, received: 0, integrated: 0, quarantined: 0 })
    expect(continuous!.status.pendingChanges).toEqual({ unshared: 0, needsIntegration: 0 })
    await other.sync()
    expect((await other.contents())['note']!.map((note) => note['title']).sort()).toEqual(['a', 'b', 'c'])
  })

  it('never runs two syncs at once: requests during a sync make exactly one more sync after it', async () => {
    log.hold()
    startContinuous()
    await eventually(() => expect(log.reads).toBe(1))
    const first = continuous!.syncNow()
    const second = continuous!.syncNow()
    continuous!.notifyLocalWrite()
    await vi.advanceTimersByTimeAsync(5_000)
    expect(startedCount()).toBe(1)
    expect(continuous!.status.syncing).toBe(true)
    log.release()
    const [a, b] = await Promise.all([first, second])
    expect(a).toBe(b)
    await syncsDone(2)
    await settle()
    expect(startedCount()).toBe(2)
    expect(log.maxInFlight).toBe(1)
    expect(continuous!.status.syncing).toBe(false)
    // The next one is the interval sync, a full interval after the last.
    expect(continuous!.status.nextSyncAt).toBe(Date.now() + 60_000)
  })

  it('backs off with jitter while the shared log fails, skips local-write syncs meanwhile, and recovers', async () => {
    log.broken = true
    startContinuous()
    await syncsDone(1)
    const delays = () => events.filter(([name]) => name === 'error').map(([, payload]) => payload.retryInMs)
    // random() = 0.5 and jitter 0.5: each delay is 75% of 1 s, 2 s, 4 s, 8 s (max), 8 s.
    for (const [index, delay] of [750, 1_500, 3_000, 6_000].entries()) {
      expect(delays()[index]).toBe(delay)
      await device.storageManager.collection('note').createObject({ title: `offline ${index}` })
      await vi.advanceTimersByTimeAsync(delay - 1)
      await settle()
      expect(startedCount()).toBe(index + 1)
      await vi.advanceTimersByTimeAsync(1)
      await syncsDone(index + 2)
    }
    expect(delays()).toEqual([750, 1_500, 3_000, 6_000, 6_000])
    const status = continuous!.status
    expect(status.consecutiveFailures).toBe(5)
    expect(status.lastError).toBeInstanceOf(Error)
    expect(status.lastSyncAt).toBeNull()
    expect(status.pendingChanges?.unshared).toBe(4)
    expect(events.filter(([name]) => name === 'started').map(([, payload]) => payload.attempt)).toEqual([1, 2, 3, 4, 5])

    log.broken = false
    await vi.advanceTimersByTimeAsync(6_000)
    await syncsDone(6)
    const after = continuous!.status
    expect(after).toMatchObject({ consecutiveFailures: 0, lastError: null, lastSyncAt: Date.now() })
    expect(after.pendingChanges).toEqual({ unshared: 0, needsIntegration: 0 })
    expect(after.nextSyncAt).toBe(Date.now() + 60_000)
    await other.sync()
    expect((await other.contents())['note']).toHaveLength(4)
  })

  it('uses the real jitter range: delays stay within [base * (1 - jitter), base]', async () => {
    log.broken = true
    let calls = 0
    startContinuous({ random: () => [0, 0.999, 0.3][calls++ % 3]!, backoff: { initialMs: 1_000, maxMs: 60_000, factor: 3, jitter: 1 } })
    await syncsDone(1)
    await vi.advanceTimersByTimeAsync(1_000)
    await syncsDone(2)
    await vi.advanceTimersByTimeAsync(3_000)
    await syncsDone(3)
    const delays = events.filter(([name]) => name === 'error').map(([, payload]) => payload.retryInMs)
    expect(delays).toEqual([1_000, 3, 6_300])
  })

  it('pause() stops timers and write-triggered syncs; resume() syncs right away; stop() waits for the sync in flight', async () => {
    startContinuous()
    await syncsDone(1)
    continuous!.pause()
    expect(continuous!.status).toMatchObject({ state: 'paused', nextSyncAt: null })
    await device.storageManager.collection('note').createObject({ title: 'while paused' })
    await vi.advanceTimersByTimeAsync(5 * 60_000)
    await settle()
    expect(startedCount()).toBe(1)
    expect((await continuous!.getStatus()).pendingChanges?.unshared).toBe(1)

    continuous!.resume()
    expect(continuous!.status.state).toBe('running')
    await syncsDone(2)
    expect(events.filter(([name]) => name === 'started')[1]![1].reason).toBe('resume')
    expect(events.filter(([name]) => name === 'finished')[1]![1].sent).toBe(1)

    log.hold()
    await vi.advanceTimersByTimeAsync(60_000)
    await eventually(() => expect(startedCount()).toBe(3))
    let stopped = false
    const stopping = continuous!.stop().then(() => (stopped = true))
    await settle()
    expect(stopped).toBe(false)
    log.release()
    await stopping
    expect(finishedCount()).toBe(3)
    expect(continuous!.status).toMatchObject({ state: 'stopped', syncing: false, nextSyncAt: null })
    expect(vi.getTimerCount()).toBe(0)
    // No more syncs: its listener is removed.
    await device.storageManager.collection('note').createObject({ title: 'after stop' })
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    await settle()
    expect(startedCount()).toBe(3)
  })

  it('emits progress with running counts and finished with counts and duration; syncNow rejects with the error', async () => {
    for (const title of ['x', 'y']) await other.storageManager.collection('note').createObject({ title })
    await other.sync()
    startContinuous({ syncOnStart: false, batchSize: 1 })
    expect(continuous!.status.nextSyncAt).toBe(Date.now() + 60_000)
    await device.storageManager.collection('note').createObject({ title: 'mine' })
    const result = await continuous!.syncNow()
    expect(result.received.entries).toBe(2)
    const progress = events.filter(([name]) => name === 'progress').map(([, payload]) => payload)
    expect(progress).toEqual([
      { sent: 0, received: 1, integrated: 0, quarantined: 0 },
      { sent: 0, received: 2, integrated: 0, quarantined: 0 },
      { sent: 1, received: 2, integrated: 0, quarantined: 0 },
      { sent: 1, received: 2, integrated: 2, quarantined: 0 },
    ])
    const finished = events.find(([name]) => name === 'finished')![1]
    expect(finished).toMatchObject({ sent: 1, received: 2, integrated: 2, quarantined: 0, result })
    expect(finished.durationMs).toBeGreaterThanOrEqual(0)
    expect(continuous!.status.lastCounts).toEqual({ sent: 1, received: 2, integrated: 2, quarantined: 0 })

    log.broken = true
    await expect(continuous!.syncNow()).rejects.toThrow('shared log down')
    const error = events.find(([name]) => name === 'error')![1]
    expect(error).toMatchObject({ consecutiveFailures: 1, retryInMs: 750 })
    expect(error.error.message).toContain('shared log down')
  })

  it('forwards doSync events to an events option as well', async () => {
    const seen: string[] = []
    startContinuous({ events: { emit: (name: string) => seen.push(name) } })
    await syncsDone(1)
    expect(seen[0]).toBe('syncStarted')
    expect(seen.at(-1)).toBe('syncFinished')
  })
})

describe('ContinuousSync options', () => {
  it('refuses bad timings and misconfigured sync options up front', async () => {
    const base = {
      storageManager: { registry: {} as any, backend: { operation: async () => undefined } },
      clientSyncLog: { getUnsharedEntries: async () => [] } as any,
      sharedSyncLog: new MemorySharedSyncLog(),
      reconciler: (() => []) as any,
      userId: USER,
      deviceId: 'd',
    }
    expect(() => new ContinuousSync({ ...base, intervalMs: -1 })).toThrow(SyncOrchestratorError)
    expect(() => new ContinuousSync({ ...base, debounceMs: Number.NaN })).toThrow(/debounceMs/)
    expect(() => new ContinuousSync({ ...base, backoff: { initialMs: 0 } })).toThrow(/initialMs/)
    expect(() => new ContinuousSync({ ...base, backoff: { jitter: 2 } })).toThrow(/jitter/)
    expect(() => new ContinuousSync({ ...base, deviceId: '' })).toThrow(expect.objectContaining({ code: 'DEVICE_ID_MISSING' }))
    expect(() => new ContinuousSync({ ...base, intervalMs: 0 })).not.toThrow()
  })
})
