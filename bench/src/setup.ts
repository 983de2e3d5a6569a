import { createRequire } from 'node:module'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'
import { doSync, type SyncOptions } from '@storex-sync/sync-orchestrator'
import * as storex from '@worldbrain/storex'
import { openPostgresBackend, openSqliteBackend } from '@storex-sync/storex-backend-sql'

// @worldbrain/storex is CommonJS: the class is `.default` of the module object in ESM.
const StorageManager = ((storex as any).default?.default ?? (storex as any).default ?? storex) as typeof storex.default
export type StorageManagerInstance = storex.default

export interface TestStorage {
  storageManager: StorageManagerInstance
  cleanup(): Promise<void>
}

/**
 * SQLite through @storex-sync/storex-backend-sql and better-sqlite3: in
 * memory, or a file in WAL mode with synchronous=NORMAL (what apps on SQLite
 * use; the default rollback journal fsyncs every transaction and would
 * measure the disk, not the code).
 */
export async function createSqliteStorage(options: {
  setup: (storageManager: StorageManagerInstance) => void
  autoPkType: 'string' | 'int'
  database?: string
}): Promise<TestStorage> {
  const backend = await openSqliteBackend({ filename: options.database ?? ':memory:', autoPkType: options.autoPkType })
  const storageManager = new StorageManager({ backend: backend as any })
  options.setup(storageManager)
  await storageManager.finishInitialization()
  await backend.migrate()
  return { storageManager, cleanup: () => backend.close() }
}

let databases = 0

/**
 * The original's own stock backend: SQLite through
 * @worldbrain/storex-backend-typeorm 0.2.1 (unpatched) and better-sqlite3,
 * a file in WAL mode with synchronous=NORMAL.
 */
export async function createTypeormSqliteStorage(options: {
  setup: (storageManager: StorageManagerInstance) => void
  autoPkType: 'string' | 'int'
  database?: string
}): Promise<TestStorage> {
  databases += 1
  // Loaded only here: TypeORM adds some 40 MB to the RSS of every device process that imports it, used or not.
  const { TypeORMStorageBackend } = await import('@worldbrain/storex-backend-typeorm')
  const backend = new TypeORMStorageBackend({
    connectionOptions: { type: 'better-sqlite3', database: options.database ?? ':memory:', name: `bench-${process.pid}-${databases}` } as any,
    autoPkOptions: (options.autoPkType === 'string' ? { type: 'varchar' } : { type: 'integer', generated: 'increment' }) as any,
  })
  const storageManager = new StorageManager({ backend: backend as any })
  options.setup(storageManager)
  await storageManager.finishInitialization()
  if (options.database) {
    await backend.connection!.query('PRAGMA journal_mode = WAL')
    await backend.connection!.query('PRAGMA synchronous = NORMAL')
  }
  await backend.migrate()
  return { storageManager, cleanup: async () => void (await backend.connection?.close()) }
}

/** PostgreSQL through @storex-sync/storex-backend-sql and pg, in the (empty) database the URL names. */
export async function createPostgresStorage(options: {
  setup: (storageManager: StorageManagerInstance) => void
  autoPkType: 'string' | 'int'
  connectionString: string
}): Promise<TestStorage> {
  const backend = await openPostgresBackend({ connectionString: options.connectionString, autoPkType: options.autoPkType, max: 2 })
  const storageManager = new StorageManager({ backend: backend as any })
  options.setup(storageManager)
  await storageManager.finishInitialization()
  await backend.migrate()
  return { storageManager, cleanup: () => backend.close() }
}

/** IndexedDB through Dexie over fake-indexeddb (loaded only when asked for, so B's process does not carry it). */
async function createIndexedDbStorage(options: { setup: (storageManager: StorageManagerInstance) => void }): Promise<TestStorage> {
  const backends = await import('@storex-sync/test-backends')
  return backends.createIndexedDbStorage({ setup: options.setup, autoPkType: 'string' })
}

export type BackendKind = 'sqlite' | 'indexeddb' | 'postgres'
export type Engine = 'ours' | 'original'

export { USER_ID, benchCollections, makeNote } from './notes'
import { USER_ID, benchCollections } from './notes'

let idCounter = 0
/** Ids for raw writes (what custom-pk would give, without the middleware). */
export function rawId(): string {
  idCounter += 1
  return `raw${process.pid.toString(36)}${idCounter.toString(36).padStart(8, '0')}`
}

function open(
  kind: BackendKind,
  setup: (storageManager: StorageManagerInstance) => void,
  database?: string,
  autoPkType: 'string' | 'int' = 'string',
  engine: Engine = 'ours',
): Promise<TestStorage> {
  if (kind === 'sqlite') {
    const create = engine === 'original' ? createTypeormSqliteStorage : createSqliteStorage
    return create({ setup, autoPkType, ...(database ? { database } : {}) })
  }
  if (kind === 'postgres') {
    return createPostgresStorage({ setup, autoPkType, connectionString: database! })
  }
  return createIndexedDbStorage({ setup })
}

/** A database with the note collection and no sync machinery: the baseline. */
export async function createRawStorage(kind: BackendKind): Promise<TestStorage> {
  return open(kind, (storageManager) => storageManager.registry.registerCollections(structuredClone(benchCollections)))
}

export interface OurDevice {
  storage: TestStorage
  storageManager: StorageManagerInstance
  clientSyncLog: ClientSyncLogStorage
  sync(options?: Partial<SyncOptions>): ReturnType<typeof doSync>
}

/** A device with custom-pk + logging middleware (this project), optionally synced through `sharedSyncLog`. */
export async function createOurDevice(options: {
  kind: BackendKind
  database?: string
  sharedSyncLog?: SharedSyncLog
  deviceId?: string | number
}): Promise<OurDevice> {
  let clientSyncLog!: ClientSyncLogStorage
  const storage = await open(
    options.kind,
    (storageManager) => {
      storageManager.registry.registerCollections(structuredClone(benchCollections))
      clientSyncLog = new ClientSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
    },
    options.database,
  )
  const { storageManager } = storage
  const pkMiddleware = new CustomAutoPkMiddleware()
  pkMiddleware.setup({ storageRegistry: storageManager.registry, collections: ['note'] })
  const logging = new SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['note'] })
  logging.enable(options.deviceId ?? 'bench-device')
  storageManager.setMiddleware([pkMiddleware as any, logging as any])
  return {
    storage,
    storageManager,
    clientSyncLog,
    sync: (extra = {}) =>
      doSync({
        storageManager,
        clientSyncLog,
        sharedSyncLog: options.sharedSyncLog!,
        reconciler: reconcileSyncLog,
        userId: USER_ID,
        deviceId: options.deviceId!,
        ...extra,
      }),
  }
}

/** This project's shared log on SQLite (a file, so two processes can use it one after the other). */
export async function openOurSharedLog(database: string): Promise<{ sharedSyncLog: SharedSyncLogStorage; storage: TestStorage }> {
  let sharedSyncLog!: SharedSyncLogStorage
  const storage = await createSqliteStorage({
    database,
    autoPkType: 'string',
    setup(storageManager) {
      sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'string' })
      registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
    },
  })
  return { sharedSyncLog, storage }
}

// ---------------------------------------------------------------------------
// The original @worldbrain/storex-sync 0.1.1 (CommonJS, built for storex ^0.3.3).

const require = createRequire(import.meta.url)

export interface OriginalModules {
  version: string
  ClientSyncLogStorage: any
  SharedSyncLogStorage: any
  CustomAutoPkMiddleware: any
  SyncLoggingMiddleware: any
  reconcileSyncLog: any
  doSync: (options: any) => Promise<void>
  receiveLogEntries: (options: any) => Promise<void>
  shareLogEntries: (options: any) => Promise<void>
}

let original: OriginalModules | undefined

/** Loads the original package, or throws saying why it cannot be loaded. */
export function loadOriginal(): OriginalModules {
  if (!original) {
    const base = '@worldbrain/storex-sync/lib'
    const index = require(`${base}/index.js`)
    original = {
      version: require('@worldbrain/storex-sync/package.json').version,
      ClientSyncLogStorage: require(`${base}/client-sync-log/index.js`).ClientSyncLogStorage,
      SharedSyncLogStorage: require(`${base}/shared-sync-log/storex.js`).SharedSyncLogStorage,
      CustomAutoPkMiddleware: require(`${base}/custom-auto-pk.js`).CustomAutoPkMiddleware,
      SyncLoggingMiddleware: require(`${base}/logging-middleware/index.js`).SyncLoggingMiddleware,
      reconcileSyncLog: require(`${base}/reconciliation/default.js`).reconcileSyncLog,
      doSync: index.doSync,
      receiveLogEntries: index.receiveLogEntries,
      shareLogEntries: index.shareLogEntries,
    }
  }
  return original
}

export interface OriginalDevice {
  storage: TestStorage
  storageManager: StorageManagerInstance
  clientSyncLog: any
}

let originalPkCounter = 0

/** A device with the original's custom-auto-pk + logging middleware, on its own stock backends (TypeORM on SQLite). */
export async function createOriginalDevice(options: { kind: BackendKind; database?: string }): Promise<OriginalDevice> {
  const modules = loadOriginal()
  let clientSyncLog: any
  let pkMiddleware: any
  const storage = await open(
    options.kind,
    (storageManager) => {
      storageManager.registry.registerCollections(structuredClone(benchCollections))
      clientSyncLog = new modules.ClientSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
      // Its setup() turns the pk field into a string field, so it must run before the tables are made.
      pkMiddleware = new modules.CustomAutoPkMiddleware({
        pkGenerator: () => `o${process.pid.toString(36)}${(originalPkCounter += 1).toString(36).padStart(8, '0')}`,
      })
      pkMiddleware.setup({ storageRegistry: storageManager.registry, collections: ['note'] })
    },
    options.database,
    // Its log entries have auto-increment ids; its custom-auto-pk turns the note pk into a string field.
    'int',
    'original',
  )
  const { storageManager } = storage
  const logging = new modules.SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['note'] })
  storageManager.setMiddleware([pkMiddleware, logging])
  return { storage, storageManager, clientSyncLog }
}

export async function openOriginalSharedLog(database: string): Promise<{ sharedSyncLog: any; storage: TestStorage }> {
  const modules = loadOriginal()
  let sharedSyncLog: any
  const storage = await createTypeormSqliteStorage({
    database,
    autoPkType: 'int',
    setup(storageManager) {
      sharedSyncLog = new modules.SharedSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
    },
  })
  return { sharedSyncLog, storage }
}
