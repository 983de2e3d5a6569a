import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { MemorySharedSyncLog, SharedSyncLogError, type SharedSyncLogSnapshotPage, type UserId } from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { startServer, tokenOf, type RunningServer } from './helpers'

// Compaction and snapshots over real HTTP, with the memory log behind the server (the
// SQLite and PostgreSQL servers with a replica are in replica.test.ts).
const DAY = 24 * 60 * 60 * 1000
let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const clientOf = (url: string, userId: UserId) => new HttpSharedSyncLog({ url, token: tokenOf(userId), retries: 2, backoff: { initialMs: 5, maxMs: 10 } })

/** A memory log that also serves a fixed two-page snapshot (stands in for a replica). */
class SnapshotLog extends MemorySharedSyncLog {
  readonly calls: Array<{ userId: UserId; cursor?: string | null; limit?: number }> = []
  async getSnapshotPage(options: { userId: UserId; deviceId: unknown; cursor?: string | null; limit?: number }): Promise<SharedSyncLogSnapshotPage> {
    this.calls.push({ userId: options.userId, cursor: options.cursor, limit: options.limit })
    const object = (pk: string) => ({ collection: 'note', pk, entries: [{ userId: options.userId, deviceId: 1, createdOn: 1, sharedOn: 1, data: `{"pk":"${pk}"}` }] })
    const totals = { objects: 2, entries: 2, bytes: 22 }
    return options.cursor ? { memo: { sequence: 3 }, objects: [object('b')], cursor: null, totals } : { memo: { sequence: 3 }, objects: [object('a')], cursor: 'next', totals }
  }
}

describe('compaction and snapshots over HTTP', () => {
  it('passes remaining and snapshotRequired through; a retired device gets SNAPSHOT_REQUIRED (409) and its writes are accepted', async () => {
    const log = new MemorySharedSyncLog()
    server = await startServer({ sharedSyncLog: log })
    const client = clientOf(server.url, 1)
    const a = await client.createDeviceId({ userId: 1 })
    const silent = await client.createDeviceId({ userId: 1 })
    await client.writeEntries([1, 2, 3].map((createdOn) => ({ createdOn, data: `e${createdOn}` })), { userId: 1, deviceId: a })
    const firstPage = await client.getUnsyncedEntries({ userId: 1, deviceId: silent, batchSize: 1 })
    expect(firstPage).toMatchObject({ hasMore: true, remaining: 2 })

    const later = Date.now() + 10 * DAY
    await log.markAsSeen({ memo: { sequence: 3 } }, { userId: 1, deviceId: a, now: later })
    expect(await log.compact({ userId: 1, retentionMs: DAY, now: later })).toMatchObject({ deletedEntries: 3, retiredDevices: [silent] })

    expect(await client.getDeviceInfo({ userId: 1, deviceId: silent })).toEqual({ sharedUntil: null, snapshotRequired: true })
    expect(await client.getDeviceInfo({ userId: 1, deviceId: a })).not.toHaveProperty('snapshotRequired')
    const raw = await fetch(`${server.url}/v1/entries/unsynced`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf(1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: silent }),
    })
    expect(raw.status).toBe(409)
    expect((await raw.json()).error.code).toBe('SNAPSHOT_REQUIRED')
    const error = await client.getUnsyncedEntries({ userId: 1, deviceId: silent }).catch((caught) => caught)
    expect(error).toBeInstanceOf(SharedSyncLogError)
    expect(error).toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
    expect(error.message).toMatch(/snapshot/)

    await client.writeEntries([{ createdOn: 100, data: 'offline' }], { userId: 1, deviceId: silent })
    expect((await client.getUnsyncedEntries({ userId: 1, deviceId: a })).entries.map((entry) => entry.data)).toEqual(['offline'])
    // The snapshot's memo brings it past the compacted part.
    await client.markAsSeen({ memo: { sequence: 3 } }, { userId: 1, deviceId: silent })
    expect((await client.getUnsyncedEntries({ userId: 1, deviceId: silent })).entries).toEqual([])
    expect('compact' in client).toBe(false)
  })

  it('serves POST /v1/snapshot for the token\'s user, page by page, and refuses other users\' devices', async () => {
    const log = new SnapshotLog()
    server = await startServer({ sharedSyncLog: log, maxSnapshotPage: 50 })
    const client = clientOf(server.url, 'alice')
    const device = await client.createDeviceId({ userId: 'alice' })
    const first = await client.getSnapshotPage({ userId: 'alice', deviceId: device, limit: 500 })
    expect(first).toMatchObject({ cursor: 'next', totals: { objects: 2, entries: 2, bytes: 22 }, memo: { sequence: 3 } })
    const second = await client.getSnapshotPage({ userId: 'alice', deviceId: device, cursor: first.cursor })
    expect(second.cursor).toBeNull()
    expect([...first.objects, ...second.objects].map((object) => object.pk)).toEqual(['a', 'b'])
    expect(log.calls).toEqual([
      { userId: 'alice', cursor: null, limit: 50 },
      { userId: 'alice', cursor: 'next', limit: 50 },
    ])
    await expect(clientOf(server.url, 'bob').getSnapshotPage({ userId: 'bob', deviceId: device })).rejects.toMatchObject({ code: 'UNKNOWN_DEVICE' })
    await expect(client.getSnapshotPage({ userId: 'alice', deviceId: device, limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('cuts a snapshot page larger than maxReadBytes to fewer objects, from the same cursor', async () => {
    const asked: Array<number | undefined> = []
    class BigObjects extends MemorySharedSyncLog {
      async getSnapshotPage(options: { userId: UserId; cursor?: string | null; limit?: number }): Promise<SharedSyncLogSnapshotPage> {
        asked.push(options.limit)
        const objects = Array.from({ length: options.limit ?? 10 }, (_, index) => ({
          collection: 'note',
          pk: `n${index}`,
          entries: [{ userId: options.userId, deviceId: 1, createdOn: index + 1, sharedOn: 1, data: 'x'.repeat(100) }],
        }))
        return { memo: { sequence: 0 }, objects, cursor: 'more', totals: { objects: 100, entries: 100, bytes: 10_000 } }
      }
    }
    server = await startServer({ sharedSyncLog: new BigObjects(), maxReadBytes: 250 })
    const client = clientOf(server.url, 1)
    const device = await client.createDeviceId({ userId: 1 })
    const page = await client.getSnapshotPage({ userId: 1, deviceId: device, cursor: 'start', limit: 10 })
    expect(page.objects).toHaveLength(2)
    expect(asked).toEqual([10, 2])
  })

  it('answers 404 SNAPSHOT_UNAVAILABLE without a replica; the client throws SharedSyncLogError, also for a server older than the route', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const client = clientOf(server.url, 1)
    const device = await client.createDeviceId({ userId: 1 })
    const raw = await fetch(`${server.url}/v1/snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf(1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: device }),
    })
    expect(raw.status).toBe(404)
    expect((await raw.json()).error.code).toBe('SNAPSHOT_UNAVAILABLE')
    const error = await client.getSnapshotPage({ userId: 1, deviceId: device }).catch((caught) => caught)
    expect(error).toBeInstanceOf(SharedSyncLogError)
    expect(error.code).toBe('SNAPSHOT_UNAVAILABLE')

    const older = Fastify()
    older.setNotFoundHandler((_, reply) => reply.code(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: 'no route' } }))
    await older.listen({ port: 0, host: '127.0.0.1' })
    try {
      const address = older.server.address() as { port: number }
      const stale = clientOf(`http://127.0.0.1:${address.port}`, 1)
      await expect(stale.getSnapshotPage({ userId: 1, deviceId: 1 })).rejects.toMatchObject({ code: 'SNAPSHOT_UNAVAILABLE' })
    } finally {
      await older.close()
    }
  })
})
