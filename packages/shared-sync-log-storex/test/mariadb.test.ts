import { afterAll, describe, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
import { createMysqlStorage, findMysqlUrl, type TestStorage } from '@storex-sync/test-backends'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SharedSyncLogStorage,
} from '@storex-sync/shared-sync-log-storex'

// MariaDB/MySQL through storex-backend-sql and mysql2, as postgres.test.ts
// does for PostgreSQL: one database for the file, emptied after every test.
const found = await findMysqlUrl()

if ('url' in found) {
  let shared: Promise<{ storage: TestStorage; sharedSyncLog: SharedSyncLogStorage }> | undefined
  const open = () =>
    (shared ??= (async () => {
      let sharedSyncLog!: SharedSyncLogStorage
      const storage = await createMysqlStorage({
        serverUrl: found.url,
        autoPkType: 'string',
        setup: (storageManager) => {
          sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'string' })
          registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
        },
      })
      return { storage, sharedSyncLog }
    })())
  afterAll(async () => {
    await (await shared)?.storage.cleanup()
  })

  runSharedSyncLogTests("SharedSyncLogStorage on MariaDB (autoPkType 'string')", async () => {
    const { storage, sharedSyncLog } = await open()
    return {
      sharedSyncLog,
      deviceIdType: 'string',
      userIds: ['user-a', 'user-b'],
      cleanup: async () => {
        for (const collection of [SHARED_SYNC_LOG_ENTRY_COLLECTION, SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION]) {
          await storage.storageManager.collection(collection).deleteObjects({})
        }
      },
    }
  })
} else {
  console.warn(`[shared-sync-log-storex] MariaDB tests skipped: ${found.skipReason}`)
  describe('SharedSyncLogStorage on MariaDB', () => {
    it.skip(`skipped: ${found.skipReason}`, () => {})
  })
}
