import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import mysql from 'mysql2/promise'
import type { CollectionDefinitionMap } from '@worldbrain/storex'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { StorageManager, createSyncedDevice, type StorexStorageManager, type SyncedObjects } from '@storex-sync/device'
import { openMysqlBackend, openPostgresBackend, openSqliteBackend, type SqlStorageBackend } from '@storex-sync/storex-backend-sql'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, staticTokenAuthenticator } from '@storex-sync/sync-server'
import type { SyncResult } from '@storex-sync/sync-orchestrator'

/** The sync server on 127.0.0.1 (a free port), keeping the shared log in an in-memory SQLite database. */
export async function startSyncServer(users: string[]) {
  const tokens = Object.fromEntries(users.map((userId) => [randomBytes(16).toString('hex'), userId]))
  const app = await createSyncServer({ database: ':memory:', authenticate: staticTokenAuthenticator(tokens) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const tokenOf = (userId: string) => Object.keys(tokens).find((token) => tokens[token] === userId)!
  return { url, tokenOf, close: () => app.close() }
}

/** Where a shop keeps its data: an SQLite file (or ':memory:'), or a database of its own on a PostgreSQL or MariaDB/MySQL server. */
export type ShopDatabase = { kind: 'sqlite'; file: string } | { kind: 'postgres'; serverUrl: string } | { kind: 'mysql'; serverUrl: string }

async function mysqlAdminQuery(serverUrl: string, sql: string) {
  const connection = await mysql.createConnection({ uri: serverUrl })
  try {
    await connection.query(sql)
  } finally {
    await connection.end()
  }
}

async function adminQuery(serverUrl: string, sql: string) {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export interface Shop {
  name: string
  storageManager: StorexStorageManager
  /** What the shop's database is, for printing. */
  description: string
  sync(): Promise<SyncResult>
  contents(): Promise<SyncedObjects>
  close(): Promise<void>
}

export async function createShop(options: {
  name: string
  database: ShopDatabase
  collections: CollectionDefinitionMap
  syncedCollections: string[]
  server: { url: string; tokenOf(userId: string): string }
  /** The catalogue all shops share: the sync log's "user". */
  userId: string
  reconciler: ReconcilerFunction
  getNow?: () => number
}): Promise<Shop> {
  let description: string
  let dropDatabase = async () => {}
  // custom-pk gives string ids, so auto-pk columns hold strings.
  let backend: SqlStorageBackend
  if (options.database.kind === 'sqlite') {
    backend = await openSqliteBackend({ filename: options.database.file, autoPkType: 'string' })
    description = `SQLite ${options.database.file === ':memory:' ? '(in memory)' : options.database.file}`
  } else {
    // One database per shop on the given server, dropped again by close().
    const { kind, serverUrl } = options.database
    const dbName = `storex_sync_shop_${options.name}_${randomBytes(4).toString('hex')}`
    const url = new URL(serverUrl)
    url.pathname = `/${dbName}`
    if (kind === 'postgres') {
      await adminQuery(serverUrl, `CREATE DATABASE "${dbName}"`)
      dropDatabase = () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)
      backend = await openPostgresBackend({ connectionString: url.toString(), autoPkType: 'string', max: 2 })
      description = `PostgreSQL database ${dbName}`
    } else {
      await mysqlAdminQuery(serverUrl, `CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`)
      dropDatabase = () => mysqlAdminQuery(serverUrl, `DROP DATABASE IF EXISTS \`${dbName}\``)
      backend = await openMysqlBackend({ uri: url.toString(), autoPkType: 'string', connectionLimit: 2 })
      description = `MariaDB/MySQL database ${dbName}`
    }
  }
  // Registers the client sync log, migrates the database, installs ids and logging; the shop's id is made at its first write.
  const shop = await createSyncedDevice({
    storageManager: new StorageManager({ backend }),
    collections: options.collections,
    syncedCollections: options.syncedCollections,
    sharedSyncLog: new HttpSharedSyncLog({ url: options.server.url, token: options.server.tokenOf(options.userId) }),
    userId: options.userId,
    reconciler: options.reconciler,
    getNow: options.getNow,
  })
  const { storageManager } = shop

  return {
    name: options.name,
    storageManager,
    description,
    sync: () => shop.sync(),
    contents: () => shop.readSyncedObjects(),
    async close() {
      await backend.close()
      await dropDatabase()
    },
  }
}
