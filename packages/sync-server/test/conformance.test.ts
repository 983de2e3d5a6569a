import { afterAll } from 'vitest'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
import { PostgresSharedSyncLog, openSharedSyncLog } from '../src/index'
import { noUserLock } from '../src/internal/postgres-lock'
import { attachReplica } from '../src/internal/replica-server'
import { perUserClient, startServer } from './helpers'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// The HTTP client + server pair over real HTTP on 127.0.0.1 (random port).

runSharedSyncLogTests('HTTP client + server on MemorySharedSyncLog', async () => {
  const server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
  return { sharedSyncLog: perUserClient(server.url), deviceIdType: 'int', cleanup: () => server.close() }
})

// Each storage of the server on its own, without HTTP in between.
runSharedSyncLogTests('server storage: SQLite (openSharedSyncLog, direct)', async () => {
  const opened = await openSharedSyncLog({ database: ':memory:' })
  return { sharedSyncLog: opened.sharedSyncLog, deviceIdType: 'string', cleanup: () => opened.close() }
})

// The log as a server with a replica uses it: writes wake the replica, compaction goes through it.
runSharedSyncLogTests('server storage: SQLite with a replica (compaction through the replica)', async () => {
  const opened = await openSharedSyncLog({ database: ':memory:', replica: true })
  const attached = attachReplica(opened.sharedSyncLog, opened.replica!.replica, { lock: noUserLock, logger: { warn: () => {}, info: () => {} }, compactionIntervalMs: false })
  return {
    sharedSyncLog: attached.sharedSyncLog,
    deviceIdType: 'string',
    cleanup: async () => {
      await attached.close()
      await opened.close()
    },
  }
})

runSharedSyncLogTests('HTTP client + server on SQLite with a replica', async () => {
  const server = await startServer({ database: ':memory:', replica: { compactionIntervalMs: false } })
  return { sharedSyncLog: perUserClient(server.url), deviceIdType: 'string', cleanup: () => server.close() }
})

runSharedSyncLogTests('HTTP client + server on SQLite (SharedSyncLogStorage, storex-backend-sql + better-sqlite3)', async () => {
  const server = await startServer({ database: ':memory:' })
  return { sharedSyncLog: perUserClient(server.url), deviceIdType: 'string', cleanup: () => server.close() }
})

const postgres = await findPostgres('the PostgreSQL conformance runs')
if ('url' in postgres) {
  const database = await createPostgresDatabase(postgres.url)
  afterAll(() => database.drop())
  let counter = 0
  // Each test gets tables of its own (a fresh prefix) in this file's database.
  const openLog = () => PostgresSharedSyncLog.connect({ connectionString: database.url, tablePrefix: `t${++counter}_`, poolSize: 4 })

  runSharedSyncLogTests('PostgresSharedSyncLog (direct)', async () => {
    const log = await openLog()
    return { sharedSyncLog: log, deviceIdType: 'int', cleanup: () => log.close() }
  })

  runSharedSyncLogTests('HTTP client + server on PostgreSQL', async () => {
    const log = await openLog()
    const server = await startServer({ sharedSyncLog: log })
    return {
      sharedSyncLog: perUserClient(server.url),
      deviceIdType: 'int',
      cleanup: async () => {
        await server.close()
        await log.close()
      },
    }
  })
}
