import { createRequire } from 'node:module'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import type { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { createSyncedDevice, type SyncedDevice } from '@storex-sync/device'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'
import type { SyncOptions, SyncResult } from '@storex-sync/sync-orchestrator'
import { StorageManager, type StorageManagerInstance } from '@storex-sync/storex-glue'
import { openPostgresBackend, openSqliteBackend } from '@storex-sync/storex-backend-sql'

export type { StorageManagerInstance }

export interface TestStorage {
  storageManager: StorageManagerInstance
  cleanup(): Promise<void>
}

interface StorageOptions {
  /** Registers collections and modules before initialization. */
  setup: (storageManager: StorageManagerInstance) => void | Promise<void>
  /** True when setup initializes and migrates the StorageManager itself (createSyncedDevice does). */
  setupInitializes?: boolean
  autoPkType: 'string' | 'int'
}

/** Runs setup, then initializes and migrates unless setup did. */
async function initialize(storageManager: StorageManagerInstance, backend: { migrate(): Promise<void> }, options: StorageOptions): Promise<void> {
  await options.setup(storageManager)
  if (options.setupInitializes) return
  await storageManager.finishInitialization()
  await backend.migrate()
}

/**
 * SQLite through @storex-sync/storex-backend-sql and better-sqlite3: in
 * memory, or a file in WAL mode with synchronous=NORMAL (what apps on SQLite
 * use; the default rollback journal fsyncs every transaction and would
 * measure the disk, not the code).
 */
export async function createSqliteStorage(options: StorageOptions & { database?: string }): Promise<TestStorage> {
  const backend = await openSqliteBackend({ filename: options.database ?? ':memory:', autoPkType: options.autoPkType })
  const storageManager = new StorageManager({ backend: backend as any })
  await initialize(storageManager, backend, options)
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
export async function createPostgresStorage(options: StorageOptions & { connectionString: string }): Promise<TestStorage> {
  const backend = await openPostgresBackend({ connectionString: options.connectionString, autoPkType: options.autoPkType, max: 2 })
  const storageManager = new StorageManager({ backend: backend as any })
  await initialize(storageManager, backend, options)
  return { storageManager, cleanup: () => backend.close() }
}

/** IndexedDB through Dexie over fake-indexeddb (loaded only when asked for, so B's process does not carry it). */
async function createIndexedDbStorage(options: Omit<StorageOptions, 'autoPkType'>): Promise<TestStorage> {
  const backends = await import('@storex-sync/test-backends')
  return backends.createIndexedDbStorage({ ...options, autoPkType: 'string' })
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
  options: Omit<StorageOptions, 'autoPkType'> & { database?: string; autoPkType?: 'string' | 'int'; engine?: Engine },
): Promise<TestStorage> {
  const { database, engine = 'ours', ...rest } = options
  const storageOptions = { ...rest, autoPkType: options.autoPkType ?? 'string' }
  if (kind === 'sqlite') {
    if (engine === 'original') return createTypeormSqliteStorage({ ...storageOptions, ...(database ? { database } : {}) })
    return createSqliteStorage({ ...storageOptions, ...(database ? { database } : {}) })
  }
  if (kind === 'postgres') {
    return createPostgresStorage({ ...storageOptions, connectionString: database! })
  }
  return createIndexedDbStorage(storageOptions)
}

/** A database with the note collection and no sync machinery: the baseline. */
export async function createRawStorage(kind: BackendKind): Promise<TestStorage> {
  return open(kind, { setup: (storageManager) => storageManager.registry.registerCollections(structuredClone(benchCollections)) })
}

export interface OurDevice {
  storage: TestStorage
  storageManager: StorageManagerInstance
  clientSyncLog: ClientSyncLogStorage
  sync(options?: Partial<SyncOptions>): Promise<SyncResult>
}

/** A device of this project (createSyncedDevice: custom-pk + logging middleware), optionally synced through `sharedSyncLog`. */
export async function createOurDevice(options: {
  kind: BackendKind
  database?: string
  sharedSyncLog?: SharedSyncLog
  deviceId?: string | number
}): Promise<OurDevice> {
  let device!: SyncedDevice<StorageManagerInstance>
  const storage = await open(options.kind, {
    database: options.database,
    setupInitializes: true,
    setup: async (storageManager) => {
      device = await createSyncedDevice({
        storageManager,
        collections: structuredClone(benchCollections),
        // The logging-overhead runs never sync: their devices get a log they do not use.
        sharedSyncLog: options.sharedSyncLog ?? new MemorySharedSyncLog(),
        userId: USER_ID,
        deviceId: options.deviceId ?? 'bench-device',
      })
    },
  })
  return { storage, storageManager: storage.storageManager, clientSyncLog: device.clientSyncLog, sync: (extra = {}) => device.sync(extra) }
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
  const storage = await open(options.kind, {
    setup: (storageManager) => {
      storageManager.registry.registerCollections(structuredClone(benchCollections))
      clientSyncLog = new modules.ClientSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
      // Its setup() turns the pk field into a string field, so it must run before the tables are made.
      pkMiddleware = new modules.CustomAutoPkMiddleware({
        pkGenerator: () => `o${process.pid.toString(36)}${(originalPkCounter += 1).toString(36).padStart(8, '0')}`,
      })
      pkMiddleware.setup({ storageRegistry: storageManager.registry, collections: ['note'] })
    },
    database: options.database,
    // Its log entries have auto-increment ids; its custom-auto-pk turns the note pk into a string field.
    autoPkType: 'int',
    engine: 'original',
  })
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
