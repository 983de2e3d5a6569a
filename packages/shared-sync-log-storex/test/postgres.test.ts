import { afterAll, describe, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
import { createPostgresStorage, findPostgresUrl, type TestStorage } from '@storex-sync/test-backends'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SHARED_SYNC_LOG_USER_COLLECTION,
  SharedSyncLogStorage,
} from '@storex-sync/shared-sync-log-storex'

// PostgreSQL through TypeORM, one process: checks that the field types
// (float for clock values and sequences, no boolean) and the queries hold on a
// real server. One database for the file, emptied after every test, because
// creating a database per test costs about a second.
const found = await findPostgresUrl()

if ('url' in found) {
  let shared: Promise<{ storage: TestStorage; sharedSyncLog: SharedSyncLogStorage }> | undefined
  const open = () =>
    (shared ??= (async () => {
      let sharedSyncLog!: SharedSyncLogStorage
      const storage = await createPostgresStorage({
        serverUrl: found.url,
        autoPkType: 'int',
        setup: (storageManager) => {
          sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'int' })
          registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
        },
      })
      return { storage, sharedSyncLog }
    })())
  afterAll(async () => {
    await (await shared)?.storage.cleanup()
  })

  runSharedSyncLogTests("SharedSyncLogStorage on PostgreSQL (autoPkType 'int')", async () => {
    const { storage, sharedSyncLog } = await open()
    return {
      sharedSyncLog,
      deviceIdType: 'int',
      cleanup: async () => {
        for (const collection of [SHARED_SYNC_LOG_ENTRY_COLLECTION, SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION, SHARED_SYNC_LOG_USER_COLLECTION]) {
          await storage.storageManager.collection(collection).deleteObjects({})
        }
      },
    }
  })
} else {
  console.warn(`[shared-sync-log-storex] PostgreSQL tests skipped: ${found.skipReason}`)
  describe('SharedSyncLogStorage on PostgreSQL', () => {
    it.skip(`skipped: ${found.skipReason}`, () => {})
  })
}
