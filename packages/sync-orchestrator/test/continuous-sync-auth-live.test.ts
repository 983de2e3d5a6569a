import { afterEach, describe, expect, it } from 'vitest'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { ContinuousSync, type ContinuousSyncEventMap } from '@storex-sync/sync-orchestrator'
import { createTestDevice, type TestDevice } from './devices'

// ContinuousSync and the HTTP transport's two signals (issue 12): a 401 stops
// retries until new credentials; live change notifications trigger a sync at once.

const USER = 'user-1'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
async function eventually(check: () => void, timeoutMs = 5000) {
  const end = performance.now() + timeoutMs
  for (;;) {
    try {
      return check()
    } catch (error) {
      if (performance.now() > end) throw error
      await sleep(10)
    }
  }
}

/** Refuses every call as HttpSharedSyncLog does after a 401 (a SharedSyncLogAuthError: code UNAUTHENTICATED, status 401) while `refusing`. */
class RefusingLog implements SharedSyncLog {
  refusing = false
  calls = 0
  constructor(private readonly inner: SharedSyncLog) {}
  private check() {
    this.calls += 1
    if (this.refusing) throw Object.assign(new Error('the sync server refused the credentials: the token has expired'), { code: 'UNAUTHENTICATED', status: 401, reason: 'token_expired' })
  }
  createDeviceId: SharedSyncLog['createDeviceId'] = (o) => this.inner.createDeviceId(o)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = (o) => this.inner.getDeviceInfo(o)
  writeEntries: SharedSyncLog['writeEntries'] = async (e, o) => (this.check(), this.inner.writeEntries(e, o))
  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = async (o) => (this.check(), this.inner.getUnsyncedEntries(o))
  markAsSeen: SharedSyncLog['markAsSeen'] = async (u, o) => (this.check(), this.inner.markAsSeen(u, o))
}

describe('ContinuousSync: credentials and live updates', () => {
  let devices: TestDevice[] = []
  let continuous: ContinuousSync[] = []
  afterEach(async () => {
    for (const sync of continuous) await sync.stop()
    for (const device of devices) await device.storage.cleanup()
    devices = []
    continuous = []
  })

  function start(device: TestDevice, log: SharedSyncLog, extra: Partial<ConstructorParameters<typeof ContinuousSync>[0]> = {}) {
    const events: Array<[keyof ContinuousSyncEventMap, any]> = []
    const sync = new ContinuousSync({
      storageManager: device.storageManager,
      clientSyncLog: device.clientSyncLog,
      sharedSyncLog: log,
      reconciler: reconcileSyncLog,
      userId: USER,
      deviceId: device.deviceId,
      loggingMiddleware: device.logging,
      intervalMs: 50,
      debounceMs: 10,
      backoff: { initialMs: 20, maxMs: 40 },
      ...extra,
    })
    for (const name of ['started', 'finished', 'error', 'auth'] as const) sync.on(name, (payload) => events.push([name, payload]))
    continuous.push(sync)
    sync.start()
    return { sync, events }
  }

  it('stops retrying on a 401, emits auth, and resumes on credentialsRenewed()', async () => {
    const log = new RefusingLog(new MemorySharedSyncLog())
    const device = await createTestDevice({ name: 'one', kind: 'sqlite', sharedSyncLog: log, userId: USER })
    devices.push(device)
    log.refusing = true
    const { sync, events } = start(device, log)
    await eventually(() => expect(events.some(([name]) => name === 'auth')).toBe(true))
    const auth = events.find(([name]) => name === 'auth')![1]
    expect(auth.error.code).toBe('UNAUTHENTICATED')
    expect(events.find(([name]) => name === 'error')![1].retryInMs).toBeNull()
    expect(sync.status.authRequired).toBe(true)
    expect(sync.status.nextSyncAt).toBeNull()
    // no retries, no interval syncs, no syncs after local writes while the credentials are refused
    const calls = log.calls
    await device.storageManager.collection('user').createObject({ displayName: 'Joe' })
    await sleep(400)
    expect(log.calls).toBe(calls)
    expect(events.filter(([name]) => name === 'started').length).toBe(1)
    // signed in again
    log.refusing = false
    sync.credentialsRenewed()
    await eventually(() => expect(events.some(([name]) => name === 'finished')).toBe(true))
    expect(sync.status.authRequired).toBe(false)
    expect(events.filter(([name]) => name === 'started').at(-1)![1].reason).toBe('credentials')
  })

  it('syncs at once when told of a remote change, and keeps the interval as the fallback', async () => {
    const shared = new MemorySharedSyncLog()
    const one = await createTestDevice({ name: 'one', kind: 'sqlite', sharedSyncLog: shared, userId: USER })
    const two = await createTestDevice({ name: 'two', kind: 'sqlite', sharedSyncLog: shared, userId: USER })
    devices.push(one, two)
    let notify: (() => void) | null = null
    let unsubscribed = false
    const { sync, events } = start(two, shared, {
      intervalMs: 60_000,
      subscribeToChanges: (onChange) => {
        notify = onChange
        return () => {
          unsubscribed = true
        }
      },
    })
    await eventually(() => expect(events.filter(([name]) => name === 'finished').length).toBe(1))
    await one.storageManager.collection('user').createObject({ displayName: 'Joe' })
    await one.sync()
    expect(notify).not.toBeNull()
    notify!()
    await eventually(() => expect(events.filter(([name]) => name === 'finished').length).toBe(2))
    expect(events.filter(([name]) => name === 'started').at(-1)![1].reason).toBe('remote-write')
    expect((await two.contents()).user).toEqual([expect.objectContaining({ displayName: 'Joe' })])
    await sync.stop()
    expect(unsubscribed).toBe(true)
  })
})
