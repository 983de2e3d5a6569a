import type { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { createSyncedDevice, type SyncedDevice } from '@storex-sync/device'
import type { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import type { SharedSyncLog, UserId, DeviceId } from '@storex-sync/shared-sync-log-core'
import { clientBackends, type BackendKind, type TestStorage } from '@storex-sync/test-backends'
import type { ContinuousSync, SyncOptions, SyncResult } from '@storex-sync/sync-orchestrator'

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
  /**
   * The device's ContinuousSync on its clock, not started: it syncs when a test calls
   * `syncNow()` (no sync on start, no interval), so its status and events follow those syncs.
   */
  continuousSync: ContinuousSync
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

/**
 * A device of the app the tests sync: createSyncedDevice on a test backend, with
 * ids `<name>-1`, `<name>-2`, ... and a clock the test moves.
 */
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
  /** Names the client sync log's cross-tab locks (IndexedDB derives it; a SQLite file several instances open needs it). */
  databaseName?: string
  /** Start without a device id: the device makes its own, registered at its first sync. */
  offlineFirst?: boolean
  /** Objects written before sync was enabled (no logging). */
  before?: (storageManager: TestStorage['storageManager']) => Promise<void>
}): Promise<TestDevice> {
  const schema = options.schema ?? defaultSchema
  const backend = clientBackends.find((candidate) => candidate.kind === options.kind)!
  const database = options.tabOf?.storage.database ?? options.database
  const clock = options.tabOf?.clock ?? { now: options.startTime ?? 1_000 }
  const offline = options.offlineFirst || options.tabOf?.deviceId === OFFLINE_FIRST
  const deviceId = offline ? OFFLINE_FIRST : (options.tabOf?.deviceId ?? (await options.sharedSyncLog.createDeviceId({ userId: options.userId })))
  let counter = 0
  let device!: SyncedDevice<TestStorage['storageManager']>
  const storage = await backend.create({
    ...(database ? { database } : {}),
    setupInitializes: true,
    setup: async (storageManager) => {
      device = await createSyncedDevice({
        storageManager,
        collections: schema.collections,
        syncedCollections: schema.synced,
        ownPkCollections: schema.ownPks,
        sharedSyncLog: options.sharedSyncLog,
        userId: options.userId,
        ...(offline ? {} : { deviceId }),
        pkGenerator: () => `${options.name}-${++counter}`,
        getNow: () => clock.now,
        databaseName: options.databaseName,
        continuousSync: { syncOnStart: false, intervalMs: 0 },
      })
    },
  })
  const { storageManager } = storage
  if (options.before) {
    // Ids but no log entries, as in an app before it enabled sync.
    storageManager.setMiddleware([device.pkMiddleware])
    await options.before(storageManager)
    storageManager.setMiddleware([device.pkMiddleware, device.logging])
  }
  return {
    name: options.name,
    deviceId,
    storage,
    storageManager,
    clientSyncLog: device.clientSyncLog,
    logging: device.logging,
    clock,
    sync: (extra = {}) => device.sync(extra),
    continuousSync: device.continuousSync,
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
