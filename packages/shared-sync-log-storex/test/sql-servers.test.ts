import { afterAll, describe, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
import {
  createMysqlStorage,
  createPostgresStorage,
  findMysqlUrl,
  findPostgresUrl,
  type CreateTestStorageOptions,
  type TestStorage,
} from '@storex-sync/test-backends'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SHARED_SYNC_LOG_USER_COLLECTION,
  SharedSyncLogStorage,
} from '@storex-sync/shared-sync-log-storex'

// PostgreSQL and MariaDB/MySQL through storex-backend-sql, one process: checks
// that the field types (float for clock values and sequences, no boolean) and
// the queries hold on real servers. One database per server for the file,
// emptied after every test, because creating a database per test costs about a second.
const servers = [
  { name: 'PostgreSQL', autoPkType: 'int' as const, userIds: undefined, find: findPostgresUrl, create: createPostgresStorage },
  { name: 'MariaDB', autoPkType: 'string' as const, userIds: ['user-a', 'user-b'] as [string, string], find: findMysqlUrl, create: createMysqlStorage },
]

for (const server of servers) {
  const found = await server.find()
  if (!('url' in found)) {
    console.warn(`[shared-sync-log-storex] ${server.name} tests skipped: ${found.skipReason}`)
    describe(`SharedSyncLogStorage on ${server.name}`, () => {
      it.skip(`skipped: ${found.skipReason}`, () => {})
    })
    continue
  }
  const { autoPkType } = server
  let shared: Promise<{ storage: TestStorage; sharedSyncLog: SharedSyncLogStorage }> | undefined
  const open = () =>
    (shared ??= (async () => {
      let sharedSyncLog!: SharedSyncLogStorage
      const options: CreateTestStorageOptions & { serverUrl: string } = {
        serverUrl: found.url,
        autoPkType,
        setup: (storageManager) => {
          sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType })
          registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
        },
      }
      const storage = await server.create(options)
      return { storage, sharedSyncLog }
    })())
  afterAll(async () => {
    await (await shared)?.storage.cleanup()
  })

  runSharedSyncLogTests(`SharedSyncLogStorage on ${server.name} (autoPkType '${autoPkType}')`, async () => {
    const { storage, sharedSyncLog } = await open()
    return {
      sharedSyncLog,
      deviceIdType: autoPkType,
      ...(server.userIds ? { userIds: server.userIds } : {}),
      cleanup: async () => {
        for (const collection of [SHARED_SYNC_LOG_ENTRY_COLLECTION, SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION, SHARED_SYNC_LOG_USER_COLLECTION]) {
          await storage.storageManager.collection(collection).deleteObjects({})
        }
      },
    }
  })
}
