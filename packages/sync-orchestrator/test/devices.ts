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
}): Promise<TestDevice> {
  const schema = options.schema ?? defaultSchema
  const backend = clientBackends.find((candidate) => candidate.kind === options.kind)!
  let clientSyncLog!: ClientSyncLogStorage
  const storage = await backend.create({
    setup: (storageManager) => {
      storageManager.registry.registerCollections(schema.collections)
      clientSyncLog = new ClientSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
    },
  })
  const { storageManager } = storage
  const clock = { now: options.startTime ?? 1_000 }
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
  const deviceId = await options.sharedSyncLog.createDeviceId({ userId: options.userId })
  logging.enable(deviceId)
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
        deviceId,
        ...extra,
      }),
    async contents() {
      const result: Record<string, Array<Record<string, unknown>>> = {}
      for (const collection of schema.synced) {
        const objects = (await storageManager.collection(collection).findObjects({})) as Array<Record<string, unknown>>
        result[collection] = objects
          .map((object) => normalize(schema.collections[collection].fields, object))
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
  for (const [field, value] of Object.entries(object)) {
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
