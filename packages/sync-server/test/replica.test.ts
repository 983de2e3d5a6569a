import { afterAll, describe, expect, it } from 'vitest'
import { SharedSyncLogError, type DeviceId, type SharedSyncLogEntryData, type UserId } from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { PostgresSharedSyncLog, createSyncServer, staticTokenAuthenticator, type CreateSyncServerOptions } from '../src/index'
import { TOKENS, tokenOf } from './helpers'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// The server with a replica, over real HTTP on 127.0.0.1, on SQLite and on PostgreSQL.
const postgres = await findPostgres('the replica tests on PostgreSQL')
const postgresDatabases: Array<{ drop(): Promise<void> }> = []
afterAll(async () => {
  for (const database of postgresDatabases) await database.drop()
})

const data = (value: SharedSyncLogEntryData) => JSON.stringify(value)
const note = (pk: string, value: Record<string, unknown>) => data({ operation: 'create', collection: 'note', pk, value })

async function start(options: Partial<CreateSyncServerOptions>) {
  const app = await createSyncServer({ authenticate: staticTokenAuthenticator(TOKENS), rateLimit: false, ...options })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const client = (userId: UserId) => new HttpSharedSyncLog({ url, token: tokenOf(userId), retries: 0 })
  return { app, url, client }
}

type Backend = { name: string; options: () => Promise<Partial<CreateSyncServerOptions> & { close?: () => Promise<void> }> }
const backends: Backend[] = [{ name: 'SQLite (the replica in the log\'s storage manager)', options: async () => ({ database: ':memory:' }) }]
if ('url' in postgres) {
  backends.push({
    name: 'PostgreSQL (the replica in the same database, through storex-backend-sql)',
    // A database per test: the log's tables and the replica's start empty together.
    options: async () => {
      const database = await createPostgresDatabase(postgres.url)
      postgresDatabases.push(database)
      const log = await PostgresSharedSyncLog.connect({ connectionString: database.url, poolSize: 4 })
      return { sharedSyncLog: log, close: () => log.close() }
    },
  })
}

describe.each(backends)('a server with a replica on $name', ({ options }) => {
  async function withServer(replica: CreateSyncServerOptions['replica'], test: (server: Awaited<ReturnType<typeof start>>) => Promise<void>) {
    const { close, ...rest } = await options()
    const server = await start({ ...rest, replica })
    try {
      await test(server)
    } finally {
      await server.app.close()
      await close?.()
    }
  }

  it('catches up after writes; the backend reads the user\'s data with getObjects', () =>
    withServer({ compactionIntervalMs: false }, async ({ app, client }) => {
      const alice = client('alice')
      const phone = await alice.createDeviceId({ userId: 'alice' })
      await alice.writeEntries([{ createdOn: 1, data: note('n1', { title: 'one' }) }, { createdOn: 2, data: note('n2', { title: 'two' }) }], { userId: 'alice', deviceId: phone })
      await alice.writeEntries([{ createdOn: 3, data: data({ operation: 'modify', collection: 'note', pk: 'n1', value: { title: 'ONE' } }) }], { userId: 'alice', deviceId: phone })
      await alice.writeEntries([{ createdOn: 4, data: data({ operation: 'delete', collection: 'note', pk: 'n2' }) }], { userId: 'alice', deviceId: phone })
      await app.syncReplicaIdle()
      expect(await app.syncReplica!.getObject({ userId: 'alice', collection: 'note', pk: 'n1' })).toEqual({ title: 'ONE' })
      expect(await app.syncReplica!.getObject({ userId: 'alice', collection: 'note', pk: 'n2' })).toBeNull()
      expect((await app.syncReplica!.getObjects({ userId: 'alice' })).objects).toEqual([{ collection: 'note', pk: 'n1', object: { title: 'ONE' } }])
      expect(await app.syncReplica!.listUsers()).toEqual(['alice'])
    }))

  it('serves snapshot pages with totals and cursors; the new device then reads the log from the snapshot\'s memo', () =>
    withServer({ compactionIntervalMs: false }, async ({ client }) => {
      const alice = client('alice')
      const phone = await alice.createDeviceId({ userId: 'alice' })
      const writes = Array.from({ length: 25 }, (_, index) => ({ createdOn: index + 1, data: note(`n${String(index).padStart(2, '0')}`, { index }) }))
      await alice.writeEntries(writes, { userId: 'alice', deviceId: phone })
      await alice.writeEntries([{ createdOn: 30, data: data({ operation: 'modify', collection: 'note', pk: 'n00', value: { index: 100 } }) }], { userId: 'alice', deviceId: phone })

      const laptop = await alice.createDeviceId({ userId: 'alice' })
      const pages = []
      let cursor: string | null = null
      do {
        const page = await alice.getSnapshotPage({ userId: 'alice', deviceId: laptop, cursor, limit: 10 })
        pages.push(page)
        cursor = page.cursor
      } while (cursor)
      expect(pages.map((page) => page.objects.length)).toEqual([10, 10, 5])
      // The same memo and totals on every page: one snapshot.
      const totals = { objects: 25, entries: 26, bytes: [...writes.map((write) => write.data), data({ operation: 'modify', collection: 'note', pk: 'n00', value: { index: 100 } })].reduce((sum, text) => sum + Buffer.byteLength(text), 0) }
      for (const page of pages) expect(page).toMatchObject({ memo: pages[0]!.memo, totals })
      const objects = pages.flatMap((page) => page.objects)
      expect(new Set(objects.map((object) => object.pk)).size).toBe(25)
      expect(objects.find((object) => object.pk === 'n00')!.entries.map((entry) => entry.createdOn)).toEqual([1, 30])

      await alice.markAsSeen({ memo: pages[0]!.memo }, { userId: 'alice', deviceId: laptop })
      expect((await alice.getUnsyncedEntries({ userId: 'alice', deviceId: laptop })).entries).toEqual([])
      await alice.writeEntries([{ createdOn: 31, data: note('later', {}) }], { userId: 'alice', deviceId: phone })
      expect((await alice.getUnsyncedEntries({ userId: 'alice', deviceId: laptop })).entries.map((entry) => entry.createdOn)).toEqual([31])
      // Another user's snapshot holds none of alice's data.
      const bob = client('bob')
      const bobDevice = await bob.createDeviceId({ userId: 'bob' })
      expect(await bob.getSnapshotPage({ userId: 'bob', deviceId: bobDevice })).toMatchObject({ objects: [], cursor: null, totals: { objects: 0, entries: 0, bytes: 0 } })
    }))

  it('compacts: a silent device is retired, gets SNAPSHOT_REQUIRED over HTTP, its writes are still accepted, and it bootstraps again', () =>
    withServer({ retentionMs: 1, compactionIntervalMs: false }, async ({ app, client, url }) => {
      const alice = client('alice')
      const phone = await alice.createDeviceId({ userId: 'alice' })
      const silent = await alice.createDeviceId({ userId: 'alice' })
      await alice.writeEntries([1, 2, 3].map((createdOn) => ({ createdOn, data: note(`n${createdOn}`, { v: createdOn }) })), { userId: 'alice', deviceId: phone })
      await alice.markAsSeen(await alice.getUnsyncedEntries({ userId: 'alice', deviceId: phone }), { userId: 'alice', deviceId: phone })
      // A pass compacts the users the replica knows: those it has caught up with at least once.
      await app.syncReplicaIdle()
      await new Promise((resolve) => setTimeout(resolve, 10))

      const pass = await app.syncCompact()
      expect(pass).toMatchObject({ users: 1, deletedEntries: 3, retiredDevices: 1, failures: [] })
      const metrics = await (await fetch(`${url}/metrics`)).text()
      expect(metrics).toMatch(/storex_sync_entries_compacted_total 3/)
      expect(metrics).toMatch(/storex_sync_devices_retired_total 1/)

      expect(await alice.getDeviceInfo({ userId: 'alice', deviceId: silent })).toMatchObject({ snapshotRequired: true })
      const error = await alice.getUnsyncedEntries({ userId: 'alice', deviceId: silent }).catch((caught) => caught)
      expect(error).toBeInstanceOf(SharedSyncLogError)
      expect(error.code).toBe('SNAPSHOT_REQUIRED')
      // What it wrote offline is accepted, reaches the other device and the replica.
      await alice.writeEntries([{ createdOn: 50, data: note('offline', { from: 'silent' }) }], { userId: 'alice', deviceId: silent })
      expect((await alice.getUnsyncedEntries({ userId: 'alice', deviceId: phone })).entries.map((entry) => entry.createdOn)).toEqual([50])
      await app.syncReplicaIdle()
      expect(await app.syncReplica!.getObject({ userId: 'alice', collection: 'note', pk: 'offline' })).toEqual({ from: 'silent' })
      // It bootstraps from the snapshot, then reads the log again.
      const page = await alice.getSnapshotPage({ userId: 'alice', deviceId: silent as DeviceId })
      expect(page.objects.map((object) => object.pk).sort()).toEqual(['n1', 'n2', 'n3', 'offline'])
      await alice.markAsSeen({ memo: page.memo }, { userId: 'alice', deviceId: silent })
      expect(await alice.getDeviceInfo({ userId: 'alice', deviceId: silent })).not.toHaveProperty('snapshotRequired')
      expect((await alice.getUnsyncedEntries({ userId: 'alice', deviceId: silent })).entries).toEqual([])
    }))

  it('compacts on its schedule', () =>
    withServer({ retentionMs: 1, compactionIntervalMs: 50 }, async ({ app, client }) => {
      const alice = client('alice')
      const phone = await alice.createDeviceId({ userId: 'alice' })
      // (No read by the phone: with a retention of 1 ms, a pass may retire it at any moment.)
      await alice.writeEntries([{ createdOn: 1, data: note('n', {}) }], { userId: 'alice', deviceId: phone })
      await app.syncReplicaIdle()
      const laptop = await alice.createDeviceId({ userId: 'alice' })
      for (let waited = 0; waited < 5000; waited += 50) {
        if ((await alice.getDeviceInfo({ userId: 'alice', deviceId: laptop }))?.snapshotRequired) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      // Behind the compacted part (created after a pass, or retired by one): it must start from a snapshot.
      await expect(alice.getUnsyncedEntries({ userId: 'alice', deviceId: laptop })).rejects.toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
    }))
})

describe.skipIf(!('url' in postgres))('two server processes with replicas on one PostgreSQL database', () => {
  it('integrate every write once between them (the per-user advisory lock), and the replica equals the log', async () => {
    const database = await createPostgresDatabase((postgres as { url: string }).url)
    postgresDatabases.push(database)
    const logs = [await PostgresSharedSyncLog.connect({ connectionString: database.url, poolSize: 4 }), await PostgresSharedSyncLog.connect({ connectionString: database.url, poolSize: 4 })]
    const servers = [
      await start({ sharedSyncLog: logs[0], replica: { compactionIntervalMs: false, batchSize: 7 } }),
      await start({ sharedSyncLog: logs[1], replica: { compactionIntervalMs: false, batchSize: 7 } }),
    ]
    try {
      const clients = servers.map((server) => server.client('alice'))
      const devices = [await clients[0]!.createDeviceId({ userId: 'alice' }), await clients[1]!.createDeviceId({ userId: 'alice' })]
      const expected = new Map<string, number>()
      let clock = 0
      // Both servers take writes of the same notes at once; each wakes its own replica after every write.
      await Promise.all(
        [0, 1].map(async (side) => {
          for (let round = 0; round < 40; round += 1) {
            const pk = `n${round % 8}`
            const createdOn = ++clock
            const entry = round < 8
              ? { createdOn, data: data({ operation: 'create', collection: 'note', pk: `${pk}-${side}`, value: { v: createdOn } }) }
              : { createdOn, data: data({ operation: 'modify', collection: 'note', pk: `${pk}-${side}`, value: { v: createdOn } }) }
            expected.set(`${pk}-${side}`, createdOn)
            await clients[side]!.writeEntries([entry], { userId: 'alice', deviceId: devices[side]! })
          }
        }),
      )
      await Promise.all(servers.map((server) => server.app.syncReplicaIdle()))
      // Either process's replica (they share the tables) holds every object at its last value.
      await servers[0]!.app.syncReplica!.catchUp('alice')
      const { objects } = await servers[1]!.app.syncReplica!.getObjects({ userId: 'alice', limit: 100 })
      expect(Object.fromEntries(objects.map((object) => [object.pk, object.object.v]))).toEqual(Object.fromEntries(expected))
      expect(await servers[0]!.app.syncReplica!.getStats('alice')).toMatchObject({ objects: 16, liveObjects: 16, entries: 32 })
    } finally {
      for (const server of servers) await server.app.close()
      for (const log of logs) await log.close()
    }
  }, 30_000)
})

describe('a server without a replica', () => {
  it('answers POST /v1/snapshot with SNAPSHOT_UNAVAILABLE and refuses syncCompact', async () => {
    const { app, client } = await start({ database: ':memory:' })
    try {
      const alice = client('alice')
      const device = await alice.createDeviceId({ userId: 'alice' })
      await expect(alice.getSnapshotPage({ userId: 'alice', deviceId: device })).rejects.toMatchObject({ code: 'SNAPSHOT_UNAVAILABLE' })
      expect(app.syncReplica).toBeNull()
      await expect(app.syncCompact()).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    } finally {
      await app.close()
    }
  })
})
