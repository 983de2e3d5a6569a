import { afterEach, describe, expect, it } from 'vitest'
import { MemorySharedSyncLog, SharedSyncLogError } from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog, SharedSyncLogHttpError, type RetryInfo } from '@storex-sync/shared-sync-log-http'
import { startServer, tokenOf, type RunningServer } from './helpers'

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const fast = { initialMs: 10, maxMs: 40, factor: 2 }

/** Counts calls and fails the first `failures` of them as a dropped connection would. */
function flakyFetch(failures: number, mode: 'before' | 'after' = 'before') {
  const state = { calls: 0 }
  const fetchImpl: typeof fetch = async (input, init) => {
    state.calls += 1
    if (state.calls <= failures) {
      if (mode === 'after') {
        // the request reached the server and was handled; the answer is lost
        await (await fetch(input, init)).text()
      }
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) })
    }
    return fetch(input, init)
  }
  return { fetchImpl, state }
}

describe('HttpSharedSyncLog', () => {
  it('retries network errors with growing, jittered delays, then succeeds', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const { fetchImpl, state } = flakyFetch(3)
    const retries: RetryInfo[] = []
    const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), fetch: fetchImpl, retries: 4, backoff: fast, onRetry: (info) => retries.push(info) })
    const deviceId = await log.createDeviceId({ userId: 1 })
    expect(typeof deviceId).toBe('number')
    expect(state.calls).toBe(4)
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3])
    expect(retries.every((r) => r.error.code === 'NETWORK_ERROR')).toBe(true)
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(5)
    expect(retries[0]!.delayMs).toBeLessThanOrEqual(10)
    expect(retries[1]!.delayMs).toBeGreaterThanOrEqual(10)
    expect(retries[1]!.delayMs).toBeLessThanOrEqual(20)
    expect(retries[2]!.delayMs).toBeLessThanOrEqual(40)
  })

  it('retries a write whose answer was lost without storing its entries twice', async () => {
    const inner = new MemorySharedSyncLog()
    server = await startServer({ sharedSyncLog: inner })
    const writer = await inner.createDeviceId({ userId: 1 })
    const reader = await inner.createDeviceId({ userId: 1 })
    const { fetchImpl, state } = flakyFetch(2, 'after')
    const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), fetch: fetchImpl, backoff: fast })
    await log.writeEntries([{ createdOn: 1, data: 'one' }, { createdOn: 2, data: 'two' }], { userId: 1, deviceId: writer })
    expect(state.calls).toBe(3) // the server handled the write three times
    const update = await inner.getUnsyncedEntries({ userId: 1, deviceId: reader })
    expect(update.entries.map((e) => e.data)).toEqual(['one', 'two'])
  })

  it('retries 5xx answers', async () => {
    const inner = new MemorySharedSyncLog()
    let failures = 2
    const original = inner.getUnsyncedEntries.bind(inner)
    inner.getUnsyncedEntries = async (options) => {
      if (failures-- > 0) throw new Error('database connection lost')
      return original(options)
    }
    server = await startServer({ sharedSyncLog: inner })
    const deviceId = await inner.createDeviceId({ userId: 1 })
    const retries: RetryInfo[] = []
    const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), backoff: fast, onRetry: (info) => retries.push(info) })
    const update = await log.getUnsyncedEntries({ userId: 1, deviceId })
    expect(update).toEqual({ entries: [], memo: { sequence: 0 }, hasMore: false, remaining: 0 })
    expect(retries.map((r) => [r.error.code, (r.error as SharedSyncLogHttpError).status])).toEqual([
      ['INTERNAL_ERROR', 500],
      ['INTERNAL_ERROR', 500],
    ])
  })

  it('never retries 4xx answers, and throws the log\'s own errors as SharedSyncLogError', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const { fetchImpl, state } = flakyFetch(0)
    const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), fetch: fetchImpl, backoff: fast })
    const unknown = await log.writeEntries([{ createdOn: 1, data: 'x' }], { userId: 1, deviceId: 12345 }).catch((e) => e)
    expect(unknown).toBeInstanceOf(SharedSyncLogError)
    expect(unknown.code).toBe('UNKNOWN_DEVICE')
    expect(unknown.message).toBe(SharedSyncLogError.unknownDevice(12345).message)
    expect(state.calls).toBe(1)

    const wrongToken = new HttpSharedSyncLog({ url: server.url, token: 'not-the-right-token', fetch: fetchImpl, backoff: fast })
    const unauthenticated = await wrongToken.createDeviceId({ userId: 1 }).catch((e) => e)
    expect(unauthenticated).toBeInstanceOf(SharedSyncLogHttpError)
    expect([unauthenticated.code, unauthenticated.status]).toEqual(['UNAUTHENTICATED', 401])
    expect(state.calls).toBe(2)

    const wrongUrl = new HttpSharedSyncLog({ url: `${server.url}/not-here`, token: tokenOf(1), fetch: fetchImpl, backoff: fast })
    const notFound = await wrongUrl.createDeviceId({ userId: 1 }).catch((e) => e)
    expect([notFound.code, notFound.status]).toEqual(['ROUTE_NOT_FOUND', 404])
    expect(state.calls).toBe(3)
  })

  it('validates arguments before sending, like every SharedSyncLog', async () => {
    const { fetchImpl, state } = flakyFetch(0)
    const log = new HttpSharedSyncLog({ url: 'http://127.0.0.1:9', token: 'whatever-token', fetch: fetchImpl })
    await expect(log.writeEntries([{ createdOn: 'x' as any, data: 'y' }], { userId: 1, deviceId: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(log.getUnsyncedEntries({ userId: 1, deviceId: 1, batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(log.createDeviceId({ userId: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(state.calls).toBe(0)
  })

  it('times out a request that gets no answer, retries, then gives up with TIMEOUT', async () => {
    const inner = new MemorySharedSyncLog()
    inner.getDeviceInfo = () => new Promise((resolve) => setTimeout(() => resolve(null), 2000))
    server = await startServer({ sharedSyncLog: inner })
    const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), timeoutMs: 100, retries: 1, backoff: fast })
    const started = Date.now()
    const error = await log.getDeviceInfo({ userId: 1, deviceId: 1 }).catch((e) => e)
    expect(error).toBeInstanceOf(SharedSyncLogHttpError)
    expect(error.code).toBe('TIMEOUT')
    expect(error.message).toMatch(/within 100 ms.*gave up after 2 attempts/)
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('gives up with NETWORK_ERROR when nothing listens', async () => {
    const closed = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    await closed.close()
    const retries: RetryInfo[] = []
    const log = new HttpSharedSyncLog({ url: closed.url, token: tokenOf(1), retries: 2, backoff: fast, onRetry: (r) => retries.push(r) })
    const error = await log.createDeviceId({ userId: 1 }).catch((e) => e)
    expect(error.code).toBe('NETWORK_ERROR')
    expect(error.message).toMatch(/ECONNREFUSED.*gave up after 3 attempts/)
    expect(retries).toHaveLength(2)
  })

  it('asks getToken for a token on every attempt', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const { fetchImpl } = flakyFetch(1)
    const tokens = ['expired-token-000000', tokenOf(1)]
    let asked = 0
    const log = new HttpSharedSyncLog({ url: server.url, getToken: async () => tokens[Math.min(asked++, 1)]!, fetch: fetchImpl, backoff: fast })
    expect(typeof (await log.createDeviceId({ userId: 1 }))).toBe('number')
    expect(asked).toBe(2)
    const failing = new HttpSharedSyncLog({ url: server.url, getToken: () => { throw new Error('no session') } })
    await expect(failing.createDeviceId({ userId: 1 })).rejects.toMatchObject({ code: 'NO_TOKEN' })
  })

  it('calls the global fetch on globalThis, as browsers require', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const nodeFetch = globalThis.fetch
    const receivers: unknown[] = []
    // Like a browser's window.fetch: "Illegal invocation" when called detached.
    globalThis.fetch = function (this: unknown, input: any, init?: any) {
      receivers.push(this)
      if (this !== globalThis) throw new TypeError('Illegal invocation')
      return nodeFetch(input, init)
    } as typeof fetch
    try {
      const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf('alice') })
      expect(await log.createDeviceId({ userId: 'ignored-by-server' })).toBeDefined()
      expect(receivers).toEqual([globalThis])
    } finally {
      globalThis.fetch = nodeFetch
    }
  })

  it('refuses bad options with a message saying what to pass', () => {
    expect(() => new HttpSharedSyncLog({ url: 'not a url', token: 'x' })).toThrow(/not a valid URL/)
    expect(() => new HttpSharedSyncLog({ url: 'ftp://host', token: 'x' })).toThrow(/http:\/\/ or https:\/\//)
    expect(() => new HttpSharedSyncLog({ url: 'http://host' } as any)).toThrow(/`token`.*`getToken`/)
  })
})
