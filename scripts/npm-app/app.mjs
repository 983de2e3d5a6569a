// A fresh npm app with two devices: "laptop" on SQLite (@storex-sync/storex-backend-sql over
// better-sqlite3) and "phone" on IndexedDB (@storex-sync/storex-backend-dexie over fake-indexeddb),
// both set up by createSyncedDevice with ids registered up front, syncing a camelCase collection
// through a shared log on SQLite with a replica beside it; then a "tablet" (its id made on the
// device) starts from the replica's snapshot, and the reconciler of the installed
// @storex-sync/example-custom-reconciler runs. Exits 1 if anything differs.
import 'fake-indexeddb/auto'
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { openSqliteBackend } from '@storex-sync/storex-backend-sql'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'
import { SyncReplica, withReplica } from '@storex-sync/replica'
import { StorageManager, createSyncedDevice } from '@storex-sync/device'
import { deleteLosesToLaterEdit } from '@storex-sync/example-custom-reconciler'

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
  const deviceId = await sharedSyncLog.createDeviceId({ userId: 'user' })
  const device = await createSyncedDevice({
    storageManager: new StorageManager({ backend }),
    collections: structuredClone(collections),
    sharedSyncLog,
    userId: 'user',
    deviceId,
    syncOptions: { now: '$now' },
  })
  const { storageManager, clientSyncLog } = device
  return {
    name,
    storageManager,
    clientSyncLog,
    items: () => storageManager.collection('shoppingItem'),
    sync: () => device.sync(),
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

// The installed example's reconciler: the item the phone deleted comes back when the laptop edits it later.
const entry = (operation, createdOn, value) => ({ operation, collection: 'shoppingItem', pk: 'x1', createdOn, deviceId: 'd', sharedOn: 1, needsIntegration: true, ...(value ? { value } : {}) })
const restored = await deleteLosesToLaterEdit([entry('create', 1, { label: 'tea', done: false }), entry('delete', 2), entry('modify', 3, { done: true })], {
  storageRegistry: tablet.storageManager.registry,
})
const reconcilerOk = JSON.stringify(restored) === JSON.stringify([{ operation: 'createObject', collection: 'shoppingItem', args: { label: 'tea', done: true, id: 'x1' } }])
console.log(`deleteLosesToLaterEdit (installed example): ${JSON.stringify(restored)}`)

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
const ok = same && reconcilerOk && JSON.stringify(a.map((item) => item.label)) === JSON.stringify(expected) && a.every((item) => item.done)
if (!(cleanup instanceof Error)) console.log(`deleteObsoleteEntries on SQLite: ${cleanup.deleted} deleted`)
if (cleanup instanceof Error) {
  console.log(`deleteObsoleteEntries failed: ${cleanup.message}`)
}
console.log(ok && !(cleanup instanceof Error) ? 'npm app: the two devices converged' : 'npm app: the devices differ')
process.exit(ok && !(cleanup instanceof Error) ? 0 : 1)
