import { afterAll, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { doSync, type SyncProgress, type SyncOptions } from '@storex-sync/sync-orchestrator'
import { clientBackends, type BackendKind, type TestStorage } from '@storex-sync/test-backends'
import { PostgresSharedSyncLog, createSyncServer, staticTokenAuthenticator, type CreateSyncServerOptions } from '../src/index'
import { TOKENS, tokenOf } from './helpers'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// Devices with doSync (SQLite client databases) syncing over real HTTP with a
// server that keeps a replica: a new device bootstraps from its snapshot, a
// retired device returns with offline writes, and the replica equals them all.
const postgres = await findPostgres('device bootstrap over HTTP on PostgreSQL')
const dropAfter: Array<{ drop(): Promise<void> }> = []
afterAll(async () => {
  for (const database of dropAfter) await database.drop()
})

const USER = 'alice'

async function device(url: string, name: string, kind: BackendKind) {
  let clientSyncLog!: ClientSyncLogStorage
  const backend = clientBackends.find((candidate) => candidate.kind === kind)!
  const storage: TestStorage = await backend.create({
    setup: (storageManager) => {
      storageManager.registry.registerCollections({
        note: { version: new Date('2024-01-01'), fields: { title: { type: 'string' }, body: { type: 'text', optional: true } } },
      })
      clientSyncLog = new ClientSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
    },
  })
  const { storageManager } = storage
  let counter = 0
  const pk = new CustomAutoPkMiddleware({ pkGenerator: () => `${name}-${++counter}` })
  pk.setup({ storageRegistry: storageManager.registry, collections: ['note'] })
  const logging = new SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['note'] })
  const sharedSyncLog = new HttpSharedSyncLog({ url, token: tokenOf(USER), retries: 0 })
  const deviceId = await sharedSyncLog.createDeviceId({ userId: USER })
  logging.enable(deviceId)
  storageManager.setMiddleware([pk, logging])
  return {
    storage,
    notes: storageManager.collection('note'),
    sync: (extra: Partial<SyncOptions> = {}) =>
      doSync({ storageManager, clientSyncLog, sharedSyncLog, reconciler: reconcileSyncLog, now: '$now', userId: USER, deviceId, ...extra }),
    async contents() {
      const objects = (await storageManager.collection('note').findObjects({})) as Array<{ id: string; title: string; body?: string | null }>
      return objects.map(({ id, title, body }) => ({ id, title, body: body ?? null })).sort((a, b) => a.id.localeCompare(b.id))
    },
  }
}

type Backend = { name: string; server: () => Promise<Partial<CreateSyncServerOptions> & { close?: () => Promise<void> }> }
const backends: Backend[] = [{ name: 'SQLite', server: async () => ({ database: ':memory:' }) }]
if ('url' in postgres) {
  backends.push({
    name: 'PostgreSQL',
    server: async () => {
      const database = await createPostgresDatabase(postgres.url)
      dropAfter.push(database)
      const log = await PostgresSharedSyncLog.connect({ connectionString: database.url, poolSize: 4 })
      return { sharedSyncLog: log, close: () => log.close() }
    },
  })
}

// Devices on IndexedDB (fake-indexeddb) and on SQLite, against each server.
const cases = backends.flatMap((backend) => (['indexeddb', 'sqlite'] as const).map((kind) => ({ ...backend, kind })))

describe.each(cases)('devices on $kind with doSync and a server with a replica on $name', ({ server, kind }) => {
  it('a new device starts from the snapshot with progress; a retired device sends its offline writes and converges; the replica equals every device', async () => {
    const { close, ...options } = await server()
    const app = await createSyncServer({ authenticate: staticTokenAuthenticator(TOKENS), rateLimit: false, ...options, replica: { retentionMs: 1, compactionIntervalMs: false } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    const devices: Array<Awaited<ReturnType<typeof device>>> = []
    try {
      const writer = await device(url, 'writer', kind)
      const away = await device(url, 'away', kind)
      devices.push(writer, away)
      const ids: string[] = []
      for (let index = 0; index < 12; index += 1) ids.push((await writer.notes.createObject({ title: `note ${index}`, body: 'first' })).object.id)
      for (let edit = 0; edit < 4; edit += 1) {
        for (const id of ids) await writer.notes.updateObjects({ id }, edit % 2 ? { title: `${id} v${edit}` } : { body: `body v${edit}` })
      }
      await writer.notes.deleteObjects({ id: ids[0] })
      await writer.sync()
      await away.sync()
      expect(await away.contents()).toEqual(await writer.contents())

      // While `away` is offline: the writer goes on, `away` edits too.
      await writer.notes.updateObjects({ id: ids[1] }, { title: 'changed by the writer' })
      await writer.notes.createObject({ title: 'new while away was offline' })
      await writer.sync()
      // Once more: a sync reads before it sends, so this one moves the writer's cursor past its own entries
      // (with a retention of 1 ms, a device with anything left to read counts as silent).
      await writer.sync()
      await away.notes.updateObjects({ id: ids[2] }, { body: 'written offline' })
      await away.notes.createObject({ title: 'created offline' })
      await app.syncReplicaIdle()
      await new Promise((resolve) => setTimeout(resolve, 10))
      const pass = await app.syncCompact()
      expect(pass.deletedEntries).toBeGreaterThan(0)
      expect(pass.retiredDevices).toBe(1)

      // A new device: the snapshot, no replay (the log before it is gone anyway).
      const newcomer = await device(url, 'new', kind)
      devices.push(newcomer)
      const progress: SyncProgress[] = []
      const first = await newcomer.sync({ events: { emit: (name: string, payload: any) => void (name === 'progress' && progress.push(payload)) } as any })
      expect(first.bootstrap).toMatchObject({ mode: 'fresh', objects: 13 })
      const last = progress.filter((item) => item.phase === 'bootstrap').at(-1)!
      expect(last.objects).toEqual({ done: 13, total: 13 })
      expect(await newcomer.contents()).toEqual(await writer.contents())

      // The retired device returns: its offline writes are sent, it merges a snapshot.
      const back = await away.sync()
      expect(back.bootstrap.mode).toBe('merge')
      await writer.sync()
      await newcomer.sync()
      const expected = await writer.contents()
      expect(expected.find((note) => note.id === ids[2])!.body).toBe('written offline')
      expect(expected.some((note) => note.title === 'created offline')).toBe(true)
      expect(expected.find((note) => note.id === ids[1])!.title).toBe('changed by the writer')
      expect(await away.contents()).toEqual(expected)
      expect(await newcomer.contents()).toEqual(expected)
      await app.syncReplicaIdle()
      const { objects } = await app.syncReplica!.getObjects({ userId: USER, collection: 'note', limit: 1000 })
      expect(objects.map(({ pk, object }) => ({ id: pk, title: object.title, body: object.body ?? null })).sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual(expected)
    } finally {
      await app.close()
      await close?.()
      for (const item of devices) await item.storage.cleanup()
    }
  }, 60_000)
})
