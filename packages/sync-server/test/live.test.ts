import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { startServer, tokenOf, type RunningServer } from './helpers'
import { buildCli, startCli, type Harness } from './process-harness'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// Live sync: a device keeps a Server-Sent Events stream open and hears of
// another device's write at once; across server processes on one PostgreSQL
// through LISTEN/NOTIFY.

const postgres = await findPostgres('the two-process live sync test')

function recorder() {
  const events: number[] = []
  let waiters: Array<{ count: number; resolve: () => void }> = []
  return {
    events,
    onChange: () => {
      events.push(performance.now())
      waiters = waiters.filter((waiter) => (events.length >= waiter.count ? (waiter.resolve(), false) : true))
    },
    /** Resolves when `count` changes have arrived, rejects after `ms`. */
    until(count: number, ms = 5000) {
      if (events.length >= count) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${count} change events within ${ms} ms`)), ms)
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) })
      })
    },
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('live updates in one server process', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), maxStreamsPerUser: 3 })
  })
  afterAll(() => server.close())

  it('tells a device at once that another device of its user wrote; not its own writes, not other users\' writes', async () => {
    const alice = new HttpSharedSyncLog({ url: server.url, token: tokenOf('alice'), retries: 0 })
    const bob = new HttpSharedSyncLog({ url: server.url, token: tokenOf('bob'), retries: 0 })
    const [writer, listener] = [await alice.createDeviceId({ userId: 'alice' }), await alice.createDeviceId({ userId: 'alice' })]
    const bobDevice = await bob.createDeviceId({ userId: 'bob' })
    const heard = recorder()
    const bobHeard = recorder()
    const states: string[] = []
    const stop = alice.subscribe({ userId: 'alice', deviceId: listener, onChange: heard.onChange, onStateChange: (state) => states.push(state) })
    const stopBob = bob.subscribe({ userId: 'bob', deviceId: bobDevice, onChange: bobHeard.onChange })
    try {
      await heard.until(1) // "ready": connected, catch up
      await bobHeard.until(1)
      expect(states).toEqual(['connected'])
      const before = performance.now()
      await alice.writeEntries([{ createdOn: 1, data: 'x' }], { userId: 'alice', deviceId: writer })
      await heard.until(2, 2000)
      expect(heard.events[1]! - before).toBeLessThan(1000)
      // its own write wakes nothing, an empty write neither, and bob hears nothing of alice
      await alice.writeEntries([{ createdOn: 2, data: 'y' }], { userId: 'alice', deviceId: listener })
      await alice.writeEntries([], { userId: 'alice', deviceId: writer })
      await sleep(300)
      expect(heard.events.length).toBe(2)
      expect(bobHeard.events.length).toBe(1)
    } finally {
      stop()
      stopBob()
    }
  })

  it('refuses a stream for a device of another user (404, reported through onError) and too many streams (429)', async () => {
    const alice = new HttpSharedSyncLog({ url: server.url, token: tokenOf('alice'), retries: 0 })
    const bob = new HttpSharedSyncLog({ url: server.url, token: tokenOf('bob'), retries: 0 })
    const bobDevice = await bob.createDeviceId({ userId: 'bob' })
    const error = await new Promise<any>((resolve) => alice.subscribe({ userId: 'alice', deviceId: bobDevice, onChange: () => {}, onError: resolve }))
    expect(error.code).toBe('UNKNOWN_DEVICE')

    const device = await alice.createDeviceId({ userId: 'alice' })
    const stops = [] as Array<() => void>
    try {
      for (let i = 0; i < 3; i += 1) {
        const heard = recorder()
        stops.push(alice.subscribe({ userId: 'alice', deviceId: device, onChange: heard.onChange }))
        await heard.until(1)
      }
      const response = await fetch(`${server.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf('alice')}` },
        body: JSON.stringify({ deviceId: device }),
      })
      expect(response.status).toBe(429)
      expect((await response.json()).error.code).toBe('TOO_MANY_STREAMS')
    } finally {
      for (const stop of stops) stop()
    }
  })

  it('ends a stream after maxStreamMs; the client reconnects (and authenticates again)', async () => {
    const own = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), maxStreamMs: 300 })
    const alice = new HttpSharedSyncLog({ url: own.url, token: tokenOf('alice'), retries: 0, backoff: { initialMs: 10, maxMs: 20 } })
    const device = await alice.createDeviceId({ userId: 'alice' })
    const states: string[] = []
    const heard = recorder()
    const stop = alice.subscribe({ userId: 'alice', deviceId: device, onChange: heard.onChange, onStateChange: (state) => states.push(state) })
    try {
      await heard.until(2, 3000) // two "ready": the first stream ended and a second one opened
      expect(states.slice(0, 3)).toEqual(['connected', 'disconnected', 'connected'])
    } finally {
      stop()
      await own.close()
    }
  })

  it('close() ends open streams at once', async () => {
    const own = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const alice = new HttpSharedSyncLog({ url: own.url, token: tokenOf('alice'), retries: 0 })
    const device = await alice.createDeviceId({ userId: 'alice' })
    const heard = recorder()
    const stop = alice.subscribe({ userId: 'alice', deviceId: device, onChange: heard.onChange })
    await heard.until(1)
    const started = performance.now()
    await own.close()
    stop()
    expect(performance.now() - started).toBeLessThan(1500)
  })
})

describe.skipIf(!('url' in postgres))('live updates across two server processes on one PostgreSQL (LISTEN/NOTIFY)', () => {
  const TOKEN = 'carol-token-0123456789-0123456789-0123'
  let harness: Harness
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>
  beforeAll(async () => {
    harness = await buildCli({ [TOKEN]: 'carol' })
    database = await createPostgresDatabase((postgres as { url: string }).url)
  }, 60_000)
  afterAll(async () => {
    await database?.drop()
    harness?.cleanup()
  })

  it('a write through one process reaches a stream held by the other', async () => {
    const one = await startCli(harness, ['--auth', harness.tokenFile, '--database', database.url, '--port', '0'])
    const two = await startCli(harness, ['--auth', harness.tokenFile, '--database', database.url, '--port', '0'])
    try {
      const viaOne = new HttpSharedSyncLog({ url: one.url, token: TOKEN, retries: 0 })
      const viaTwo = new HttpSharedSyncLog({ url: two.url, token: TOKEN, retries: 0 })
      const listener = await viaOne.createDeviceId({ userId: 'carol' })
      const writer = await viaTwo.createDeviceId({ userId: 'carol' })
      const heard = recorder()
      const stop = viaOne.subscribe({ userId: 'carol', deviceId: listener, onChange: heard.onChange })
      try {
        await heard.until(1)
        const latencies: number[] = []
        for (let i = 1; i <= 5; i += 1) {
          const before = performance.now()
          await viaTwo.writeEntries([{ createdOn: i, data: `e${i}` }], { userId: 'carol', deviceId: writer })
          await heard.until(1 + i, 3000)
          latencies.push(heard.events[i]! - before)
        }
        expect(Math.max(...latencies)).toBeLessThan(1000)
        const update = await viaOne.getUnsyncedEntries({ userId: 'carol', deviceId: listener })
        expect(update.entries.map((e) => e.data)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'])

        // the LISTEN connections drop (a database restart): they come back, and streams hear of writes again
        const admin = new pg.Client({ connectionString: (postgres as { url: string }).url })
        await admin.connect()
        try {
          const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'storex-sync-server-listen' AND datname = $1`, [new URL(database.url).pathname.slice(1)])
          expect(killed.rowCount).toBe(2)
        } finally {
          await admin.end()
        }
        const heardBefore = heard.events.length
        for (let attempt = 0; attempt < 50 && heard.events.length === heardBefore; attempt += 1) {
          // writes until one is heard: notifications sent while the listener was away are lost, the reconnect wakes streams
          await viaTwo.writeEntries([{ createdOn: 100 + attempt, data: `after-${attempt}` }], { userId: 'carol', deviceId: writer })
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        expect(heard.events.length).toBeGreaterThan(heardBefore)
        expect(one.child.exitCode).toBeNull()
      } finally {
        stop()
      }
    } finally {
      expect(await one.stop()).toBe(0)
      expect(await two.stop()).toBe(0)
    }
  }, 60_000)
})
