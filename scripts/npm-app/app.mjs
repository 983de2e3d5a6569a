// A fresh npm app with two devices: "laptop" on SQLite (@storex-sync/storex-backend-sql over
// better-sqlite3) and "phone" on IndexedDB (@storex-sync/storex-backend-dexie over fake-indexeddb),
// syncing a camelCase collection through a shared log on SQLite. Exits 1 if they differ.
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

const StorageManager = storex.default?.default ?? storex.default

const collections = {
  shoppingItem: {
    version: new Date('2024-01-01'),
    fields: { label: { type: 'string' }, done: { type: 'boolean' }, addedAt: { type: 'datetime', optional: true } },
  },
}

async function openSharedLog() {
  const backend = await openSqliteBackend({ autoPkType: 'string' })
  const storageManager = new StorageManager({ backend })
  const sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'string' })
  registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
  await storageManager.finishInitialization()
  await backend.migrate()
  return sharedSyncLog
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

const sharedSyncLog = await openSharedLog()
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

const a = await laptop.contents()
const b = await phone.contents()
console.log(`laptop: ${JSON.stringify(a)}`)
console.log(`phone:  ${JSON.stringify(b)}`)
const same = JSON.stringify(a) === JSON.stringify(b)
const expected = ['eggs', 'milk']
const ok = same && JSON.stringify(a.map((item) => item.label)) === JSON.stringify(expected) && a.every((item) => item.done)
if (!(cleanup instanceof Error)) console.log(`deleteObsoleteEntries on SQLite: ${cleanup.deleted} deleted`)
if (cleanup instanceof Error) {
  console.log(`deleteObsoleteEntries failed: ${cleanup.message}`)
}
console.log(ok && !(cleanup instanceof Error) ? 'npm app: the two devices converged' : 'npm app: the devices differ')
process.exit(ok && !(cleanup instanceof Error) ? 0 : 1)
