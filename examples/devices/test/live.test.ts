import { afterEach, describe, expect, it } from 'vitest'
import '../src/setup' // fake-indexeddb
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { SignJWT } from 'jose'
import { StorageManager, createSyncedDevice } from '@storex-sync/device'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, jwtAuthenticator } from '@storex-sync/sync-server'
import { noteCollections } from '../src/devices'

// The whole production path in one process: JWTs, the HTTP client, live
// updates over Server-Sent Events and ContinuousSync on IndexedDB devices.

const SECRET = randomBytes(32).toString('hex')
const sign = (userId: string, expiresInSec: number) =>
  new SignJWT({ sub: userId }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://auth.test/').setAudience('notes').setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec).sign(new TextEncoder().encode(SECRET))

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup() {
  const app = await createSyncServer({ database: ':memory:', authenticate: jwtAuthenticator({ secret: SECRET, issuer: 'https://auth.test/', audience: 'notes' }), logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(() => app.close())
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { url }
}

async function device(url: string, token: string) {
  const backend = new DexieStorageBackend({ dbName: `live-${randomBytes(4).toString('hex')}`, idbImplementation: { factory: indexedDB, range: IDBKeyRange } })
  const sharedSyncLog = new HttpSharedSyncLog({ url, token, retries: 0 })
  // An id registered up front: the live stream is per device.
  const deviceId = await sharedSyncLog.createDeviceId({ userId: 'alice' })
  const { storageManager, continuousSync } = await createSyncedDevice({
    storageManager: new StorageManager({ backend }),
    collections: noteCollections,
    sharedSyncLog,
    userId: 'alice',
    deviceId,
    continuousSync: {
      intervalMs: 600_000, // so only live updates can explain a quick arrival
      debounceMs: 20,
      backoff: { initialMs: 50, maxMs: 100 },
      subscribeToChanges: (onChange) => sharedSyncLog.subscribe({ userId: 'alice', deviceId, onChange }),
    },
  })
  const events: string[] = []
  for (const name of ['finished', 'error', 'auth'] as const) continuousSync.on(name, () => events.push(name))
  cleanups.push(async () => {
    await continuousSync.stop()
    await backend.cleanup()
  })
  return { storageManager, sharedSyncLog, continuousSync, events }
}

async function eventually(check: () => Promise<void> | void, timeoutMs = 5000) {
  const end = performance.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (performance.now() > end) throw error
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

describe('live sync between devices (JWT, SSE, ContinuousSync)', () => {
  it('a note written on the phone arrives on the laptop within a second, without waiting for the interval', async () => {
    const { url } = await setup()
    const phone = await device(url, await sign('alice', 300))
    const laptop = await device(url, await sign('alice', 300))
    phone.continuousSync.start()
    laptop.continuousSync.start()
    await eventually(() => expect(laptop.events).toContain('finished'))
    const written = performance.now()
    await phone.storageManager.collection('note').createObject({ title: 'live', body: 'from the phone', pinned: false })
    await eventually(async () => {
      expect((await laptop.storageManager.collection('note').findObjects({})).map((note: any) => note.title)).toEqual(['live'])
    }, 3000)
    expect(performance.now() - written).toBeLessThan(2000)
  })

  it('an expired token stops syncing with an auth event; a new token and credentialsRenewed() resume it', async () => {
    const { url } = await setup()
    const phone = await device(url, await sign('alice', 300))
    await phone.continuousSync.stop()
    phone.sharedSyncLog.setToken(await sign('alice', -60))
    phone.continuousSync.start()
    await eventually(() => expect(phone.events).toContain('auth'))
    expect(phone.continuousSync.status.authRequired).toBe(true)
    await phone.storageManager.collection('note').createObject({ title: 'offline', body: '', pinned: false })
    phone.sharedSyncLog.setToken(await sign('alice', 300))
    phone.continuousSync.credentialsRenewed()
    await eventually(() => expect(phone.continuousSync.status.authRequired).toBe(false))
    await eventually(() => expect(phone.continuousSync.status.pendingChanges?.unshared).toBe(0))
  })
})
