import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
import {
  clientBackends,
  createIndexedDbStorage,
  createSqliteStorage,
  type CreateTestStorageOptions,
  type TestStorage,
} from '@storex-sync/test-backends'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'

type Backend = (options: CreateTestStorageOptions) => Promise<TestStorage>

const backends: Array<[string, Backend]> = [
  ['SQLite', createSqliteStorage],
  ['IndexedDB', createIndexedDbStorage],
  // With STOREX_SYNC_TEST_SQL_SERVERS=1 (a database per test; PostgreSQL has test/postgres.test.ts).
  ...clientBackends.filter(({ kind }) => kind === 'mysql').map(({ create }): [string, Backend] => ['MariaDB/MySQL', create]),
]

for (const [backendName, create] of backends) {
  for (const autoPkType of ['int', 'string'] as const) {
    runSharedSyncLogTests(`SharedSyncLogStorage on ${backendName} (autoPkType '${autoPkType}')`, async () => {
      let sharedSyncLog!: SharedSyncLogStorage
      const storage = await create({
        autoPkType,
        setup: (storageManager) => {
          sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType })
          registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
        },
      })
      return { sharedSyncLog, cleanup: () => storage.cleanup(), deviceIdType: autoPkType }
    })
  }
}
