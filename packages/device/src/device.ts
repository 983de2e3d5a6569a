import type { StorageMiddleware } from '@worldbrain/storex/lib/types/middleware'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage, type DeviceId, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import type { SharedSyncLog, UserId } from '@storex-sync/shared-sync-log-core'
import {
  ContinuousSync,
  diagnoseSync,
  doSync,
  type ContinuousSyncOptions,
  type SyncDiagnosis,
  type SyncOptions,
  type SyncResult,
} from '@storex-sync/sync-orchestrator'
import { SyncedDeviceError } from './errors'
import { readSyncedObjects, type SyncedObjects } from './synced-objects'

/** The parts of a Storex StorageManager the set-up uses (any storex 0.4 StorageManager fits). */
export interface DeviceStorageManager {
  registry: { registerCollections(collections: Record<string, unknown>): void } & Record<string, any>
  backend: { operation(name: string, ...args: any[]): Promise<any>; migrate?: () => Promise<unknown> } & Record<string, any>
  finishInitialization(): Promise<unknown>
  setMiddleware(middleware: unknown[]): void
}

export interface SyncedDeviceOptions<Manager extends DeviceStorageManager = DeviceStorageManager> {
  /** A new StorageManager on the device's backend (Dexie, @storex-sync/storex-backend-sql, ...), not initialized yet. */
  storageManager: Manager
  /** The app's collections, as for `registry.registerCollections()` (each with its whole version history). */
  collections: Record<string, unknown>
  /** The collections to sync. Default: every collection in `collections`. */
  syncedCollections?: string[]
  /** Synced collections whose pks the app gives itself (natural or compound keys): no generated ids there. */
  ownPkCollections?: string[]
  sharedSyncLog: SharedSyncLog
  userId: UserId
  /**
   * This device's id in the shared log, if the app manages ids itself.
   * Default: the id the client sync log keeps, made on the device at its
   * first write and registered by its first sync (works offline from the start).
   */
  deviceId?: DeviceId
  /** Default: `reconcileSyncLog` of @storex-sync/reconciliation. */
  reconciler?: ReconcilerFunction
  /** Ids for new objects. Default: custom-pk's (nanoid). */
  pkGenerator?: () => string
  /**
   * The device's wall clock in ms: the log entries' times, each sync's time, ContinuousSync's and the
   * doctor's. Default: Date.now. Tests and demos move it to tell time; an app leaves it out.
   */
  getNow?: () => number
  /**
   * A name every StorageManager over this same database shares (tabs, workers, processes on one SQLite
   * file): it names the client sync log's cross-tab locks and change notifications. Default: the
   * backend's `dbName` (the IndexedDB backends have one); set it for SQL databases several instances open.
   */
  databaseName?: string
  /** Middlewares of the app, run before the id and logging middlewares. */
  middleware?: StorageMiddleware[]
  /** Options of every sync (batch sizes, serializer, events, ...), for `sync()` and `continuousSync`. */
  syncOptions?: Partial<Omit<SyncOptions, 'storageManager' | 'clientSyncLog' | 'sharedSyncLog' | 'userId' | 'deviceId' | 'reconciler'>>
  /** ContinuousSync's own options (interval, debounce, backoff, live updates). */
  continuousSync?: Partial<Omit<ContinuousSyncOptions, 'storageManager' | 'clientSyncLog' | 'sharedSyncLog' | 'userId' | 'deviceId' | 'reconciler'>>
}

export interface SyncedDevice<Manager extends DeviceStorageManager = DeviceStorageManager> {
  storageManager: Manager
  clientSyncLog: ClientSyncLogStorage
  logging: SyncLoggingMiddleware
  pkMiddleware: CustomAutoPkMiddleware
  /** Syncs once (doSync with the device's options, and `extra` on top). */
  sync(extra?: Partial<SyncOptions>): Promise<SyncResult>
  /** Syncs by itself once started: `continuousSync.start()`; hooked to the logging middleware. */
  continuousSync: ContinuousSync
  /** The sync doctor: every reason this device is not in sync, in plain words. */
  diagnose(): Promise<SyncDiagnosis>
  /** What the device holds of its synced collections, sorted and without absent fields: equal on devices that converged. */
  readSyncedObjects(): Promise<SyncedObjects>
}

/**
 * Sets up a syncing device on a new StorageManager in one call: registers
 * the app's collections and the client sync log, finishes initialization
 * (and migrates SQL backends), installs custom ids and sync logging on the
 * synced collections, and returns `sync()`, a ContinuousSync and the doctor.
 * Every part is a plain object of its package, so an app can still swap or
 * configure each (reconciler, id generator, serializer, middlewares).
 */
export async function createSyncedDevice<Manager extends DeviceStorageManager>(options: SyncedDeviceOptions<Manager>): Promise<SyncedDevice<Manager>> {
  checkOptions(options)
  const { storageManager } = options
  const synced = options.syncedCollections ?? Object.keys(options.collections)
  const unknown = synced.filter((name) => !(name in options.collections))
  if (unknown.length) {
    throw new SyncedDeviceError('INVALID_OPTION', `syncedCollections names ${unknown.map((name) => `'${name}'`).join(', ')}, which collections does not define; list only collections you pass.`)
  }
  storageManager.registry.registerCollections(options.collections)
  const { getNow } = options
  const clientSyncLog = new ClientSyncLogStorage({
    storageManager: storageManager as never,
    ...(options.databaseName === undefined ? {} : { databaseName: options.databaseName }),
  })
  registerModuleMapCollections(storageManager.registry as never, { clientSyncLog })
  await storageManager.finishInitialization()
  await storageManager.backend.migrate?.()

  const pkMiddleware = new CustomAutoPkMiddleware(options.pkGenerator ? { pkGenerator: options.pkGenerator } : {})
  const ownPks = new Set(options.ownPkCollections ?? [])
  pkMiddleware.setup({ storageRegistry: storageManager.registry as never, collections: synced.filter((name) => !ownPks.has(name)) })
  const logging = new SyncLoggingMiddleware({ storageManager: storageManager as never, clientSyncLog, includeCollections: synced, getNow })
  if (options.deviceId === undefined) logging.enable()
  else logging.enable(options.deviceId)
  storageManager.setMiddleware([...(options.middleware ?? []), pkMiddleware, logging])

  const common = {
    ...options.syncOptions,
    storageManager: storageManager as unknown as SyncOptions['storageManager'],
    clientSyncLog,
    sharedSyncLog: options.sharedSyncLog,
    userId: options.userId,
    reconciler: options.reconciler ?? (reconcileSyncLog as ReconcilerFunction),
    ...(options.deviceId === undefined ? {} : { deviceId: options.deviceId }),
  }
  const continuousSync = new ContinuousSync({ ...common, loggingMiddleware: logging, ...(getNow ? { getNow } : {}), ...options.continuousSync })
  return {
    storageManager,
    clientSyncLog,
    logging,
    pkMiddleware,
    sync: (extra = {}) => doSync({ ...common, ...(getNow ? { now: getNow() } : {}), ...extra }),
    continuousSync,
    // ContinuousSync's state counts only once the app started it (an app that calls sync() itself is not "stopped").
    diagnose: () =>
      diagnoseSync({
        clientSyncLog,
        sharedSyncLog: options.sharedSyncLog,
        userId: options.userId,
        deviceId: options.deviceId,
        ...(getNow ? { getNow } : {}),
        ...(continuousSync.status.state === 'stopped' ? {} : { continuousSync }),
      }),
    readSyncedObjects: () => readSyncedObjects(storageManager, synced),
  }
}

function checkOptions(options: SyncedDeviceOptions<DeviceStorageManager>): void {
  const missing = (['storageManager', 'collections', 'sharedSyncLog', 'userId'] as const).filter(
    (name) => options?.[name] === undefined || options?.[name] === null || options?.[name] === '',
  )
  if (missing.length) {
    throw new SyncedDeviceError(
      'INVALID_OPTION',
      `createSyncedDevice() needs ${missing.join(', ')}: pass a new StorageManager on the device's backend, the app's collections, the shared log and the signed-in user's id.`,
    )
  }
  if (typeof options.storageManager.finishInitialization !== 'function' || !options.storageManager.registry) {
    throw new SyncedDeviceError('INVALID_OPTION', 'storageManager must be a Storex StorageManager (new StorageManager({ backend })) that is not initialized yet.')
  }
}
