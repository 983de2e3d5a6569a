// A fresh npm app with two devices: "laptop" on SQLite (@storex-sync/storex-backend-sql over
// better-sqlite3) and "phone" on IndexedDB (@storex-sync/storex-backend-dexie over fake-indexeddb),
// syncing a camelCase collection through a shared log on SQLite with a replica beside it; then a
// "tablet" made by createSyncedDevice starts from the replica's snapshot. Exits 1 if any differ.
import 'fake-indexeddb/auto'
import * as storex from '@worldbrain/storex'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { openSqliteBackend } from '@storex-sync/storex-backend-sql'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'
import { doSync } from '@storex-sync/sync-orchestrator'
import { SyncReplica, withReplica } from '@storex-sync/replica'
import { createSyncedDevice } from '@storex-sync/device'

const StorageManager = storex.default?.default ?? storex.default

const collections = {
  shoppingItem: {
    version: new Date('2024-01-01'),
    fields: { label: { type: 'string' }, done: { type: 'boolean' }, addedAt: { type: 'datetime', optional: true } },
  },
}

// The shared log with the cloud replica beside it on one SQLite database, as the server keeps them.
async function openSharedLog() {
  const backend = await openSqliteBackend({ autoPkType: 'string' })
  const storageManager = new StorageManager({ backend })
  const log = new SharedSyncLogStorage({ storageManager, autoPkType: 'string' })
  const replica = new SyncReplica({ storageManager, sharedSyncLog: log })
  registerModuleMapCollections(storageManager.registry, { sharedSyncLog: log, replica })
  await storageManager.finishInitialization()
  await backend.migrate()
  return { sharedSyncLog: withReplica(log, replica), replica }
}

async function createDevice(name, backend, sharedSyncLog) {
  const storageManager = new StorageManager({ backend })
  storageManager.registry.registerCollections(structuredClone(collections))
  const clientSyncLog = new ClientSyncLogStorage({ storageManager })
  registerModuleMapCollections(storageManager.registry, { clientSyncLog })
  await storageManager.finishInitialization()
  if (typeof backend.migrate === 'function') await backend.migrate()
  const deviceId = await sharedSyncLog.createDeviceId({ userId: 'user' })
  const pk = new CustomAutoPkMiddleware()
  pk.setup({ storageRegistry: storageManager.registry, collections: ['shoppingItem'] })
  const logging = new SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['shoppingItem'] })
  logging.enable(deviceId)
  storageManager.setMiddleware([pk, logging])
  return {
    name,
    storageManager,
    clientSyncLog,
    items: () => storageManager.collection('shoppingItem'),
    sync: () => doSync({ storageManager, clientSyncLog, sharedSyncLog, reconciler: reconcileSyncLog, userId: 'user', deviceId, now: '$now' }),
    async contents() {
      const items = await storageManager.collection('shoppingItem').findObjects({})
      return items
        .map((item) => ({ id: item.id, label: item.label, done: !!item.done, addedAt: item.addedAt ? new Date(item.addedAt).toISOString() : null }))
        .sort((a, b) => a.label.localeCompare(b.label))
    },
  }
}

const { sharedSyncLog, replica } = await openSharedLog()
const laptop = await createDevice('laptop', await openSqliteBackend({ autoPkType: 'string' }), sharedSyncLog)
const phone = await createDevice(
  'phone',
  new DexieStorageBackend({ dbName: `npm-app-${process.pid}`, idbImplementation: { factory: indexedDB, range: IDBKeyRange } }),
  sharedSyncLog,
)

const addedAt = new Date('2024-05-04T09:00:00.000Z')
await laptop.items().createObject({ label: 'milk', done: false, addedAt })
const { object: bread } = await laptop.items().createObject({ label: 'bread', done: false })
await laptop.items().createObject({ label: 'eggs', done: true })
await laptop.sync()
await phone.sync()
await phone.items().deleteObjects({ id: bread.id })
await phone.items().updateObjects({ label: 'milk' }, { done: true })
await phone.sync()
await laptop.sync()
const cleanup = await laptop.clientSyncLog.deleteObsoleteEntries().catch((error) => error)

// A third device, set up in one call, starts from the replica's snapshot instead of replaying the log.
const tablet = await createSyncedDevice({
  storageManager: new StorageManager({ backend: await openSqliteBackend({ autoPkType: 'string' }) }),
  collections: structuredClone(collections),
  sharedSyncLog,
  userId: 'user',
  syncOptions: { now: '$now' },
})
const joined = await tablet.sync()
const tabletItems = (await tablet.storageManager.collection('shoppingItem').findObjects({}))
  .map((item) => ({ id: item.id, label: item.label, done: !!item.done, addedAt: item.addedAt ? new Date(item.addedAt).toISOString() : null }))
  .sort((a, b) => a.label.localeCompare(b.label))
const replicaItems = (await replica.getObjects({ userId: 'user', collection: 'shoppingItem' })).objects.map((item) => item.object.label).sort()

const a = await laptop.contents()
const b = await phone.contents()
console.log(`laptop: ${JSON.stringify(a)}`)
console.log(`phone:  ${JSON.stringify(b)}`)
console.log(`tablet (${joined.bootstrap.mode === 'fresh' ? 'from the snapshot' : 'NOT from the snapshot'}): ${JSON.stringify(tabletItems)}`)
console.log(`replica: ${JSON.stringify(replicaItems)}`)
const same =
  JSON.stringify(a) === JSON.stringify(b) &&
  JSON.stringify(a) === JSON.stringify(tabletItems) &&
  joined.bootstrap.mode === 'fresh' &&
  JSON.stringify(replicaItems) === JSON.stringify(a.map((item) => item.label))
const expected = ['eggs', 'milk']
const ok = same && JSON.stringify(a.map((item) => item.label)) === JSON.stringify(expected) && a.every((item) => item.done)
if (!(cleanup instanceof Error)) console.log(`deleteObsoleteEntries on SQLite: ${cleanup.deleted} deleted`)
if (cleanup instanceof Error) {
  console.log(`deleteObsoleteEntries failed: ${cleanup.message}`)
}
console.log(ok && !(cleanup instanceof Error) ? 'npm app: the two devices converged' : 'npm app: the devices differ')
process.exit(ok && !(cleanup instanceof Error) ? 0 : 1)
