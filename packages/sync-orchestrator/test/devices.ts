import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import type { SharedSyncLog, UserId, DeviceId } from '@storex-sync/shared-sync-log-core'
import { clientBackends, type BackendKind, type TestStorage } from '@storex-sync/test-backends'
import { doSync, type SyncOptions, type SyncResult } from '@storex-sync/sync-orchestrator'

export const SYNCED_COLLECTIONS = ['user', 'note']

export const testCollections = {
  user: {
    version: new Date('2024-01-01'),
    fields: {
      displayName: { type: 'string' as const },
      age: { type: 'int' as const, optional: true },
    },
  },
  note: {
    version: new Date('2024-01-01'),
    fields: {
      title: { type: 'string' as const },
      body: { type: 'text' as const, optional: true },
      pinned: { type: 'boolean' as const, optional: true },
      rank: { type: 'float' as const, optional: true },
      createdWhen: { type: 'datetime' as const, optional: true },
      tags: { type: 'json' as const, optional: true },
    },
  },
  // Device-local state that is never synced.
  localSetting: {
    version: new Date('2024-01-01'),
    fields: { key: { type: 'string' as const }, value: { type: 'json' as const, optional: true } },
  },
}

/** The deviceId of a TestDevice that started offline: its real id is in clientSyncLog.getDeviceIdentity(). */
export const OFFLINE_FIRST = 'offline-first'

export interface TestDevice {
  name: string
  deviceId: DeviceId
  storage: TestStorage
  storageManager: TestStorage['storageManager']
  clientSyncLog: ClientSyncLogStorage
  logging: SyncLoggingMiddleware
  /** The device's wall clock (ms); tests move it to simulate time and skew. */
  clock: { now: number }
  sync(extra?: Partial<SyncOptions>): Promise<SyncResult>
  /** Every synced object on the device, sorted by id, for comparisons. */
  contents(): Promise<Record<string, Array<Record<string, unknown>>>>
}

export interface TestSchema {
  collections: Record<string, any>
  /** Collections to sync; the first ones that have a single auto pk get custom pks. */
  synced: string[]
  /** Synced collections whose pks the app gives itself (compound or natural keys). */
  ownPks?: string[]
}

const defaultSchema: TestSchema = { collections: testCollections, synced: SYNCED_COLLECTIONS }

export async function createTestDevice(options: {
  name: string
  kind: BackendKind
  sharedSyncLog: SharedSyncLog
  userId: UserId
  startTime?: number
  schema?: TestSchema
  /** Open this device's database again, as another browser tab (or process) of the same app would: same device id, same clock. */
  tabOf?: TestDevice
  /** SQLite: a file instead of memory (so another instance can open it). */
  database?: string
  /** Passed to ClientSyncLogStorage (names the cross-tab locks; IndexedDB derives it). */
  databaseName?: string
  /** Start without a device id: logging.enable() and doSync without deviceId (registered at the first sync). */
  offlineFirst?: boolean
  /** Objects written before sync was enabled (no logging). */
  before?: (storageManager: TestStorage['storageManager']) => Promise<void>
}): Promise<TestDevice> {
  const schema = options.schema ?? defaultSchema
  const backend = clientBackends.find((candidate) => candidate.kind === options.kind)!
  let clientSyncLog!: ClientSyncLogStorage
  const database = options.tabOf?.storage.database ?? options.database
  const storage = await (backend.create as (o: object) => Promise<TestStorage>)({
    ...(database ? { database } : {}),
    setup: (storageManager: TestStorage['storageManager']) => {
      storageManager.registry.registerCollections(schema.collections)
      clientSyncLog = new ClientSyncLogStorage({ storageManager, ...(options.databaseName ? { databaseName: options.databaseName } : {}) })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
    },
  })
  const { storageManager } = storage
  const clock = options.tabOf?.clock ?? { now: options.startTime ?? 1_000 }
  const pkMiddleware = new CustomAutoPkMiddleware({
    pkGenerator: (() => {
      let counter = 0
      return () => `${options.name}-${++counter}`
    })(),
  })
  pkMiddleware.setup({
    storageRegistry: storageManager.registry,
    collections: schema.synced.filter((collection) => !schema.ownPks?.includes(collection)),
  })
  const logging = new SyncLoggingMiddleware({
    storageManager,
    clientSyncLog,
    includeCollections: schema.synced,
  })
  logging._getNow = () => clock.now
  if (options.before) {
    storageManager.setMiddleware([pkMiddleware])
    await options.before(storageManager)
  }
  const offline = options.offlineFirst || options.tabOf?.deviceId === OFFLINE_FIRST
  const deviceId = offline ? OFFLINE_FIRST : (options.tabOf?.deviceId ?? (await options.sharedSyncLog.createDeviceId({ userId: options.userId })))
  if (offline) logging.enable()
  else logging.enable(deviceId)
  storageManager.setMiddleware([pkMiddleware, logging])
  return {
    name: options.name,
    deviceId,
    storage,
    storageManager,
    clientSyncLog,
    logging,
    clock,
    sync: (extra = {}) =>
      doSync({
        storageManager,
        clientSyncLog,
        sharedSyncLog: options.sharedSyncLog,
        reconciler: reconcileSyncLog,
        now: clock.now,
        userId: options.userId,
        ...(offline ? {} : { deviceId }),
        ...extra,
      }),
    async contents() {
      const result: Record<string, Array<Record<string, unknown>>> = {}
      for (const collection of schema.synced) {
        const objects = (await storageManager.collection(collection).findObjects({})) as Array<Record<string, unknown>>
        result[collection] = objects
          .map((object) => normalize([schema.collections[collection]].flat().at(-1).fields, object))
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
      }
      return result
    },
  }
}

/**
 * Backends differ in how they return absent optional fields: IndexedDB leaves
 * them out or null, the TypeORM backend reads an absent boolean as false.
 */
function normalize(fields: Record<string, { type: string }>, object: Record<string, unknown>): Record<string, unknown> {
  const normalized: Record<string, unknown> = {}
  // Keys in one order, so that sorting by JSON text does not depend on how a backend returns them.
  for (const [field, value] of Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (fields[field]?.type === 'boolean') {
      normalized[field] = value ?? false
    } else if (value !== null && value !== undefined) {
      normalized[field] = value
    }
  }
  for (const [field, definition] of Object.entries(fields)) {
    if (definition.type === 'boolean' && !(field in normalized)) normalized[field] = false
  }
  return normalized
}

/** All four combinations of two client backends, so every pair is exercised. */
export const backendPairs = clientBackends.flatMap((first) =>
  clientBackends.map((second) => ({ first: first.kind, second: second.kind, label: `${first.kind} -> ${second.kind}` })),
)
