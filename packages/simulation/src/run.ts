import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import {
  ClientSyncLogStorage,
  getObjectKey,
  getQuarantineId,
  type ClientSyncLogEntry,
  type ReconcilerFunction,
} from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { MemorySharedSyncLog, type DeviceId, type SharedSyncLog, type SharedSyncLogEntry } from '@storex-sync/shared-sync-log-core'
import { doSync, type SyncEventEmitter } from '@storex-sync/sync-orchestrator'
import type { SyncReplica } from '@storex-sync/replica'
import { defaultBackends, type SimulationBackendFactory, type SimulationStorage } from './backends'
import { ArchivingSharedSyncLog, checkReplica, entriesThatMatter, openCloudReplica } from './cloud'
import { SimulationError } from './errors'
import { FaultySharedSyncLog, SimulatedFault, type SharedLogFault } from './faulty-log'
import { LimitedSharedSyncLog } from './limited-log'
import { checkOutgoingQuarantines, discardOutgoing, refusedWrite, retryOutgoing } from './outgoing'
import { Random } from './internal/random'
import stringify from './internal/stable-stringify'
import { compareWithExpected, foldHistories, lastWriterWins, type DeviceContents, type ExpectedStateFunction } from './invariants'
import {
  defaultSimulationSchema,
  normalizeObject,
  randomCreateValues,
  randomUpdateValues,
  randomWhere,
  syncedCollectionsOf,
  validateSimulationSchema,
  type SimulationSchema,
} from './schema'
import { BAD_ENTRY_VARIANTS, type Schedule, type Step, type SyncFault } from './schedule'

export interface RunScheduleOptions {
  /** Collections to simulate. Default: defaultSimulationSchema. */
  schema?: SimulationSchema
  /** The reconciler every device uses. Default: reconcileSyncLog. */
  reconciler?: ReconcilerFunction
  /** What the devices must end up holding; `false` checks only that they agree. Default: lastWriterWins. */
  expectedState?: ExpectedStateFunction | false
  /** Backend factories by the names schedules use. Default: { indexeddb, sqlite }. */
  backends?: Record<string, SimulationBackendFactory>
  /** The shared log behind the fault injector. Default: a new MemorySharedSyncLog per run. */
  createSharedSyncLog?: () => SharedSyncLog | Promise<SharedSyncLog>
  /** Called with a line per step (for `--seed N` replays). */
  trace?: (line: string) => void
}

export interface RunStats {
  steps: number
  syncs: number
  faultsFired: number
  entries: number
  quarantined: number
  /** Own entries set aside because the shared log refused them (or held behind such). */
  outgoingQuarantined: number
  /** Quarantined own entries dropped because a later delete of their object made them moot. */
  outgoingSettled: number
  integrationFailures: number
  /** Devices that started from the replica's snapshot: new ones ('fresh'), and retired ones back with data ('merge'). */
  bootstraps: { fresh: number; merge: number }
  /** Compaction steps, the devices they retired and the log entries they deleted. */
  compactions: { runs: number; retiredDevices: number; deletedEntries: number }
  durationMs: number
}

export interface RunReport {
  /** Broken invariants, each starting with the invariant's number; empty when the run passed. */
  violations: string[]
  stats: RunStats
}

const T0 = 1_700_000_000_000
const HOUR_MS = 3_600_000
const USER = 'simulated-user'

/** One StorageManager over a device's database: a browser tab of the app. */
interface Tab {
  storage: SimulationStorage
  clientSyncLog: ClientSyncLogStorage
  logging?: SyncLoggingMiddleware
}

interface Device {
  index: number
  name: string
  deviceId: DeviceId
  /** Tab 0: the instance the checks read. */
  storage: SimulationStorage
  clientSyncLog: ClientSyncLogStorage
  /** Every instance over the device's database (tab 0 first); all share the device id and the clock. */
  tabs: Tab[]
  clock: { skewMs: number; driftPpm: number; jumpMs: number }
  batchCounter: number
  /** Objects the app wrote to collections that are not synced (they must never travel). */
  localWrites: number
  /** Started without a device id: `deviceId` is known after its first successful sync. */
  offlineFirst?: boolean
  /** On the older app version (one field less) until an `appUpdate` step. */
  olderApp?: boolean
  pkCounter: number
  pkMiddleware?: CustomAutoPkMiddleware
}

function schemaRegistry(storage: SimulationStorage): StorageRegistry {
  return storage.storageManager.registry as StorageRegistry
}

/** A collection definition as an app declares it, without what storex adds when it registers one. */
function withoutDerivedProperties(definition: CollectionDefinition): CollectionDefinition {
  const { name: _name, fieldsWithCustomType: _custom, relationshipsByAlias: _by, reverseRelationshipsByAlias: _reverse, pkIndex, indices, ...rest } =
    structuredClone(definition) as CollectionDefinition & Record<string, unknown>
  const fields = Object.fromEntries(Object.entries(rest.fields).filter(([name, field]) => !(name === 'id' && field.type === 'auto-pk' && !pkIndex)))
  return { ...rest, fields, ...(indices?.length ? { indices: indices.filter((index) => !(index as { pk?: boolean }).pk) } : {}) } as CollectionDefinition
}

/**
 * The app versions a schedule can mix: the older one lacks the last optional
 * field of the first synced collection; its update registers the collection's
 * history (older version, then the field added at a later date, as storex apps
 * do). Null when that collection has no optional field.
 */
function appVersionsOf(schema: SimulationSchema, synced: string[]) {
  const collection = synced[0]!
  const definition = withoutDerivedProperties(schema.collections[collection]!)
  const field = Object.entries(definition.fields).filter(([, field]) => (field as { optional?: boolean }).optional).at(-1)?.[0]
  if (!field) return { olderSchema: null, updatedSchema: null, olderField: null }
  const { [field]: _dropped, ...olderFields } = definition.fields
  const older = { ...definition, fields: olderFields }
  const latest = Math.max(
    Date.parse('2026-11-30'), // the client sync log's newest collection
    ...Object.values(schema.collections).map((candidate) => new Date((candidate as { version: Date }).version).getTime()),
  )
  const added = { ...definition, version: new Date(latest + 86_400_000) }
  return {
    olderSchema: { ...schema, collections: { ...schema.collections, [collection]: older } },
    updatedSchema: { ...schema, collections: { ...schema.collections, [collection]: [older, added] as unknown as CollectionDefinition } },
    olderField: { collection, field },
  }
}

function hash(text: string): number {
  let value = 2166136261
  for (let index = 0; index < text.length; index += 1) {
    value = Math.imul(value ^ text.charCodeAt(index), 16777619)
  }
  return value >>> 0
}

function isSimulatedFault(error: unknown): boolean {
  for (let current = error as any, depth = 0; current && depth < 5; current = current.cause, depth += 1) {
    if (current instanceof SimulatedFault || current?.name === 'SimulatedFault') return true
  }
  return false
}

function errorText(error: unknown): string {
  const parts: string[] = []
  for (let current = error as any, depth = 0; current && depth < 4; current = current.cause, depth += 1) {
    parts.push(current?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(current))
  }
  return parts.join(' <- cause: ')
}

/**
 * Runs one schedule on fresh devices, then a final round of fault-free syncs,
 * then checks the invariants:
 * 1. all devices hold identical data;
 * 2. no acknowledged write is lost (objects created and not deleted exist,
 *    each field holds its last writer's value);
 * 3. nothing is duplicated in the shared log or in a device's log, every own
 *    entry reached the shared log, and no entry is left pending;
 * 4. a deleted object stays deleted unless recreated later;
 * 5. a device's cursor never passes entries it has not stored (checked at
 *    every markAsSeen).
 * Unexpected errors (anything a sync throws that is not an injected fault,
 * any failing local write) are violations too.
 */
export async function runSchedule(schedule: Schedule, options: RunScheduleOptions = {}): Promise<RunReport> {
  const started = Date.now()
  const schema = options.schema ?? defaultSimulationSchema
  validateSimulationSchema(schema)
  const synced = syncedCollectionsOf(schema)
  const unsynced = Object.keys(schema.collections).filter((name) => !synced.includes(name))
  const { olderSchema, updatedSchema, olderField } = appVersionsOf(schema, synced)
  const backends = options.backends ?? defaultBackends
  const reconciler = options.reconciler ?? (reconcileSyncLog as ReconcilerFunction)
  const expectedState = options.expectedState === undefined ? lastWriterWins : options.expectedState
  const trace = options.trace
  if (!schedule?.devices?.length || schedule.devices.length > 20) {
    throw new SimulationError('INVALID_SCHEDULE', `a schedule needs 1 to 20 devices, got ${schedule?.devices?.length}.`)
  }

  const violations: string[] = []
  const stats: RunStats = { steps: 0, syncs: 0, faultsFired: 0, entries: 0, quarantined: 0, outgoingQuarantined: 0, outgoingSettled: 0, integrationFailures: 0, bootstraps: { fresh: 0, merge: 0 }, compactions: { runs: 0, retiredDevices: 0, deletedEntries: 0 }, durationMs: 0 }
  let simTime = T0
  const devices: Device[] = []
  const byDeviceId = new Map<string, Device>()
  const knownPks = new Map<string, Set<string>>(synced.map((collection) => [collection, new Set<string>()]))
  const rogueEntries: Array<{ deviceId: DeviceId; createdOn: number }> = []
  let rogueDeviceId: DeviceId | null = null
  let failReconcilerSeed: number | null = null
  const backgroundWrites: Array<Promise<void>> = []

  // Every entry the log accepts is archived: the checks know the whole history after compaction.
  const inner = new ArchivingSharedSyncLog(options.createSharedSyncLog ? await options.createSharedSyncLog() : new MemorySharedSyncLog())
  // Issue 13: the server's replica of the user's data beside the log (snapshots, compaction).
  const cloud = schedule.replica ? await openCloudReplica(inner, defaultBackends['sqlite']!, { now: () => simTime, collections: schema.collections, reconciler }) : null
  const served = cloud?.served ?? inner
  // Issue 16: a log with a largest write and refusals, between the devices and the real log.
  const limited = schedule.limits ? new LimitedSharedSyncLog(served, schedule.limits) : null
  const sharedSyncLog = new FaultySharedSyncLog(limited ?? served, {
    beforeMarkAsSeen: async (deviceId, entries) => {
      let device = byDeviceId.get(stringify(deviceId))
      for (const candidate of devices) {
        if (device) break
        const identity = candidate.offlineFirst ? await candidate.clientSyncLog.getDeviceIdentity() : null
        if (identity?.registered && stringify(identity.deviceId) === stringify(deviceId)) device = candidate
      }
      if (!device) return
      const stored = new Set((await device.clientSyncLog.getEntries()).map((entry) => stringify([entry.deviceId, entry.createdOn])))
      const quarantined = new Set((await device.clientSyncLog.getQuarantinedEntries()).map((entry) => entry.id))
      for (const entry of entries) {
        if (!stored.has(stringify([entry.deviceId, entry.createdOn])) && !quarantined.has(getQuarantineId(entry.deviceId, entry.createdOn))) {
          violations.push(
            `[5 cursor] ${device.name} moved its cursor past the entry of device ${JSON.stringify(entry.deviceId)} at ${entry.createdOn}, which it has not stored`,
          )
        }
      }
    },
  })

  const wallClock = (device: Device) =>
    Math.floor(simTime + device.clock.skewMs + device.clock.jumpMs + ((simTime - T0) * device.clock.driftPpm) / 1_000_000)

  const failingReconciler: ReconcilerFunction = (entries, reconcilerOptions) => {
    if (failReconcilerSeed !== null) {
      const seed = failReconcilerSeed
      const victim = entries.find((entry) => (hash(getObjectKey(entry.collection, entry.pk)) + seed) % 3 === 0)
      if (victim) {
        throw new Error(`simulated reconciler failure for ${getObjectKey(victim.collection, victim.pk)}`)
      }
    }
    return reconciler(entries, reconcilerOptions)
  }
  // The wrapper asks for what the app's reconciler asks for.
  failingReconciler.reconcileLocalWrites = reconciler.reconcileLocalWrites
  failingReconciler.compactableHistory = reconciler.compactableHistory

  /** Opens a StorageManager over the device's database (a new one, or `database` again) with sync set up. */
  const openTab = async (
    device: Device,
    factory: SimulationBackendFactory,
    tabIndex: number,
    database: string | undefined,
    collections: SimulationSchema['collections'],
  ): Promise<Tab> => {
    let clientSyncLog!: ClientSyncLogStorage
    const storage = await factory({
      name: device.name,
      ...(database ? { database } : {}),
      setup: (storageManager) => {
        // A copy per registry: storex adds derived properties to the definitions it registers.
        storageManager.registry.registerCollections(structuredClone(collections))
        clientSyncLog = new ClientSyncLogStorage({ storageManager })
        registerModuleMapCollections(storageManager.registry, { clientSyncLog })
      },
    })
    const prefix = tabIndex === 0 ? device.name : `${device.name}t${tabIndex}`
    const pkMiddleware = new CustomAutoPkMiddleware({ pkGenerator: () => `${prefix}-${++device.pkCounter}` })
    pkMiddleware.setup({ storageRegistry: storage.storageManager.registry, collections: synced })
    const logging = new SyncLoggingMiddleware({
      storageManager: storage.storageManager,
      clientSyncLog,
      includeCollections: synced,
      getNow: () => wallClock(device),
    })
    if (device.offlineFirst) logging.enable()
    else logging.enable(device.deviceId)
    storage.storageManager.setMiddleware([pkMiddleware, logging])
    if (tabIndex === 0) device.pkMiddleware = pkMiddleware
    return { storage, clientSyncLog, logging }
  }

  /** The app update of a device on the older app version: its database opened again with the full schema. */
  const updateApp = async (device: Device): Promise<string> => {
    if (!device.olderApp) return 'already on the newest app version'
    const factory = backends[schedule.devices[device.index]!.backend]!
    const old = device.tabs[0]!
    const database = old.storage.database!
    ;(old.storage.storageManager.backend as { dexieInstance?: { close(): void } }).dexieInstance?.close()
    const updated = await openTab(device, factory, 0, database, updatedSchema!.collections)
    device.tabs[0] = updated
    device.storage = updated.storage
    device.clientSyncLog = updated.clientSyncLog
    device.olderApp = false
    return `app updated: ${olderField!.collection}.${olderField!.field} is known now`
  }

  try {
    for (const [index, spec] of schedule.devices.entries()) {
      const factory = backends[spec.backend]
      if (!factory) {
        throw new SimulationError('INVALID_SCHEDULE', `the schedule names backend '${spec.backend}', but only ${Object.keys(backends).join(', ')} are configured.`)
      }
      const name = `d${index}`
      const device: Device = {
        pkCounter: 0,
        index,
        name,
        deviceId: 0,
        storage: undefined as unknown as SimulationStorage,
        clientSyncLog: undefined as unknown as ClientSyncLogStorage,
        tabs: [],
        clock: { skewMs: spec.skewMs, driftPpm: spec.driftPpm, jumpMs: 0 },
        batchCounter: 0,
        localWrites: 0,
      }
      devices.push(device)
      if (spec.offlineFirst) {
        // No id yet: the device writes under the id its log makes and registers at its first sync.
        device.offlineFirst = true
      } else {
        device.deviceId = await sharedSyncLog.createDeviceId({ userId: USER, now: simTime })
        byDeviceId.set(stringify(device.deviceId), device)
      }
      device.olderApp = !!spec.olderApp && !!olderSchema && spec.backend === 'indexeddb'
      const tabs = device.olderApp ? 1 : Math.max(1, spec.tabs ?? 1)
      for (let tabIndex = 0; tabIndex < tabs; tabIndex += 1) {
        const database = device.tabs[0]?.storage.database
        if (tabIndex > 0 && !database) break // this backend cannot open one database twice
        device.tabs.push(await openTab(device, factory, tabIndex, database, device.olderApp ? olderSchema!.collections : schema.collections))
        if (tabIndex === 0 && spec.preexisting) {
          // Objects the app wrote before it adopted sync: the same pks on every device that has them
          // (one catalogue), values of its own.
          const { storageManager } = device.tabs[0]!.storage
          storageManager.setMiddleware([device.pkMiddleware!])
          const collection = synced[0]!
          for (let index = 1; index <= spec.preexisting; index += 1) {
            const id = `pre-${index}`
            await storageManager.collection(collection).createObject({ ...randomCreateValues(schemaRegistry(device.tabs[0]!.storage), collection, device.index * 31 + index), id })
            knownPks.get(collection)!.add(id)
          }
          storageManager.setMiddleware([device.pkMiddleware!, device.tabs[0]!.logging!])
        }
      }
      device.storage = device.tabs[0]!.storage
      device.clientSyncLog = device.tabs[0]!.clientSyncLog
    }
    const newestRegistry = () => schemaRegistry((devices.find((device) => !device.olderApp) ?? devices[0]!).storage)

    const tabOf = (device: Device, tab: number | undefined) => device.tabs[(tab ?? 0) % device.tabs.length]!
    const localObjects = async (device: Device, collection: string) => {
      const objects = (await device.storage.storageManager.collection(collection).findObjects({})) as Array<Record<string, unknown>>
      return objects.sort((a, b) => (String(a['id']) < String(b['id']) ? -1 : String(a['id']) > String(b['id']) ? 1 : 0))
    }
    const remember = (collection: string, pk: unknown) => knownPks.get(collection)!.add(String(pk))

    const write = async (device: Device, step: Exclude<Step, { op: 'sync' | 'tick' | 'clockJump' | 'badEntry' | 'cleanup' | 'syncAllTabs' | 'appUpdate' | 'refusedWrite' | 'serverUpgrade' | 'retryOutgoing' | 'discardOutgoing' | 'compact' }>): Promise<string> => {
      const collection = synced[step.collection % synced.length]!
      const { storage } = tabOf(device, step.tab)
      const registry = schemaRegistry(storage)
      const objects = storage.storageManager.collection(collection)
      switch (step.op) {
        case 'create': {
          const { object } = await objects.createObject(randomCreateValues(registry, collection, step.seed))
          remember(collection, object.id)
          return `created ${collection} ${object.id}`
        }
        case 'update':
        case 'delete': {
          const existing = await localObjects(device, collection)
          if (!existing.length) return 'nothing to change'
          const target = existing[step.pick % existing.length]!
          if (step.op === 'update') {
            const updates = randomUpdateValues(registry, collection, step.seed)
            if (step.seed % 2) await objects.updateOneObject({ id: target['id'] }, updates)
            else await objects.updateObjects({ id: target['id'] }, updates)
            return `updated ${collection} ${target['id']} ${stringify(updates)}`
          }
          if (step.pick % 2) await objects.deleteOneObject({ id: target['id'] })
          else await objects.deleteObjects({ id: target['id'] })
          return `deleted ${collection} ${target['id']}`
        }
        case 'recreate': {
          const present = new Set((await localObjects(device, collection)).map((object) => String(object['id'])))
          const candidates = [...knownPks.get(collection)!].filter((pk) => !present.has(pk)).sort()
          if (!candidates.length) return 'nothing to recreate'
          const pk = candidates[step.pick % candidates.length]!
          await objects.createObject({ ...randomCreateValues(registry, collection, step.seed), id: pk })
          return `recreated ${collection} ${pk}`
        }
        case 'updateWhere':
        case 'deleteWhere': {
          const where = randomWhere(registry, collection, step.seed)
          if (!where) return 'no queryable field'
          if (step.op === 'updateWhere') {
            const updates = randomUpdateValues(registry, collection, step.seed + 1)
            await objects.updateObjects(where, updates)
            return `updated ${collection} where ${stringify(where)}: ${stringify(updates)}`
          }
          await objects.deleteObjects(where)
          return `deleted ${collection} where ${stringify(where)}`
        }
        case 'batch': {
          const random = new Random(step.seed)
          const existing = (await localObjects(device, collection)).map((object) => String(object['id']))
          const batch: any[] = []
          for (let index = 0; index < step.size; index += 1) {
            const choice = existing.length ? random.int(0, 2) : 0
            if (choice === 0) {
              const pk = `${device.name}-b${++device.batchCounter}`
              remember(collection, pk)
              existing.push(pk)
              batch.push({
                placeholder: `create-${index}`,
                operation: 'createObject',
                collection,
                args: { ...randomCreateValues(registry, collection, random.int(0, 2 ** 30)), id: pk },
              })
            } else if (choice === 1) {
              batch.push({
                operation: 'updateObjects',
                collection,
                where: { id: random.pick(existing) },
                updates: randomUpdateValues(registry, collection, random.int(0, 2 ** 30)),
              })
            } else {
              batch.push({ operation: 'deleteObjects', collection, where: { id: random.pick(existing) } })
            }
          }
          await storage.storageManager.operation('executeBatch', batch)
          return `batch on ${collection}: ${batch.map((item) => `${item.operation}(${item.args?.id ?? item.where?.id})`).join(', ')}`
        }
        case 'burst': {
          // Every tab writes at once, within one millisecond of the device's clock.
          const writes = device.tabs.flatMap((tab, tabIndex) =>
            Array.from({ length: step.size }, (_, index) =>
              tab.storage.storageManager
                .collection(collection)
                .createObject(randomCreateValues(schemaRegistry(tab.storage), collection, step.seed + tabIndex * 101 + index))
                .then((result) => {
                  const id = (result.object as Record<string, unknown>)['id']
                  remember(collection, id)
                  return String(id)
                }),
            ),
          )
          return `burst on ${collection} from ${device.tabs.length} tab(s): ${(await Promise.all(writes)).join(', ')}`
        }
      }
    }

    /** An app batch on a collection that is not synced: it must neither travel nor get in a sync's way. */
    const localBatch = async (device: Device, tab: number, seed: number): Promise<string> => {
      const collection = unsynced[seed % Math.max(1, unsynced.length)]
      if (!collection) return 'no unsynced collection'
      const random = new Random(seed)
      const registry = schemaRegistry(tabOf(device, tab).storage)
      const ids = [0, 1, 2].map(() => `${device.name}-local-${++device.localWrites}`)
      await tabOf(device, tab).storage.storageManager.operation('executeBatch', [
        ...ids.map((id) => ({ operation: 'createObject', collection, args: { ...randomCreateValues(registry, collection, random.int(0, 2 ** 30)), id } })),
        { operation: 'updateObjects', collection, where: { id: ids[0] }, updates: randomUpdateValues(registry, collection, random.int(0, 2 ** 30)) },
      ])
      return `local batch on ${collection}: ${ids.join(', ')}`
    }

    /** An offline-first device's id, once its first sync registered it. */
    const learnDeviceId = async (device: Device) => {
      const identity = await device.clientSyncLog.getDeviceIdentity()
      if (identity?.registered && device.deviceId !== identity.deviceId) {
        device.deviceId = identity.deviceId
        byDeviceId.set(stringify(device.deviceId), device)
      }
    }

    const sync = async (device: Device, fault: SyncFault, tab = 0): Promise<string> => {
      const { storage, clientSyncLog } = tabOf(device, tab)
      stats.syncs += 1
      const logFault: SharedLogFault | null =
        fault.kind === 'failBefore' || fault.kind === 'failAfter' || fault.kind === 'duplicate' ? { kind: fault.kind, call: fault.at } : null
      sharedSyncLog.arm(logFault)
      failReconcilerSeed = fault.kind === 'reconcilerThrows' ? fault.seed : null
      let boundary = 0
      let aborted = false
      const events: SyncEventEmitter = {
        emit: (name: string, payload: any) => {
          if (name === 'syncFailed') return
          if (name === 'objectIntegrationFailed') stats.integrationFailures += 1
          if (name === 'bootstrapFinished') stats.bootstraps[payload.mode as 'fresh' | 'merge'] += 1
          if (name === 'entriesQuarantined') stats.quarantined += payload.entries.length
          if (name === 'outgoingEntriesQuarantined') stats.outgoingQuarantined += payload.entries.length
          if (name === 'outgoingEntriesSettled') stats.outgoingSettled += payload.dropped
          const here = boundary++
          if (fault.kind === 'abort' && here === fault.at && !aborted) {
            aborted = true
            stats.faultsFired += 1
            throw new SimulatedFault(`sync aborted at its step ${here} (${name})`)
          }
          if (fault.kind === 'localBatchDuring' && here === fault.at) {
            stats.faultsFired += 1
            backgroundWrites.push(
              localBatch(device, tab + 1, fault.seed).then(
                (what) => trace?.(`    (during the sync, at ${name}) ${device.name} ${what}`),
                (error) => {
                  violations.push(`[unexpected error] a local batch on ${device.name} during its sync failed: ${errorText(error)}`)
                },
              ),
            )
          }
          if (fault.kind === 'writeDuring' && here === fault.at) {
            stats.faultsFired += 1
            const concurrent = { op: 'create' as const, device: device.index, collection: fault.seed, seed: fault.seed, tab: tab + fault.seed }
            backgroundWrites.push(
              write(device, concurrent).then(
                (what) => trace?.(`    (during the sync, at ${name}) ${device.name} ${what}`),
                (error) => {
                  violations.push(`[unexpected error] a write on ${device.name} during its sync failed: ${errorText(error)}`)
                },
              ),
            )
          }
        },
      }
      const firedBefore = sharedSyncLog.fired
      try {
        const result = await doSync({
          storageManager: storage.storageManager,
          clientSyncLog,
          sharedSyncLog,
          reconciler: failingReconciler,
          now: wallClock(device),
          userId: USER,
          ...(device.offlineFirst ? {} : { deviceId: device.deviceId }),
          batchSize: schedule.batchSize,
          snapshotPageSize: schedule.batchSize,
          integrationBatchSize: schedule.integrationBatchSize,
          events,
        })
        return `synced: received ${result.received.entries} (stored ${result.received.stored}, duplicates ${result.received.duplicates}, quarantined ${result.received.quarantined}), sent ${result.sent.entries}, integrated ${result.integrated.objects} objects${result.integrated.failed ? `, ${result.integrated.failed} failed` : ''}`
      } catch (error) {
        if (isSimulatedFault(error)) {
          return `sync interrupted: ${(error as Error).message}`
        }
        violations.push(`[unexpected error] sync of ${device.name} threw: ${errorText(error)}`)
        return `sync threw unexpectedly`
      } finally {
        if (device.offlineFirst) await learnDeviceId(device)
        stats.faultsFired += sharedSyncLog.fired - firedBefore
        sharedSyncLog.arm(null)
        failReconcilerSeed = null
        await Promise.all(backgroundWrites.splice(0))
      }
    }

    for (const [index, step] of schedule.steps.entries()) {
      stats.steps += 1
      simTime += 100
      let outcome: string
      const device = 'device' in step ? devices[step.device % devices.length]! : null
      if (device && (schedule.devices[device.index]!.joinAt ?? 0) > index) {
        trace?.(`#${index} ${device.name} ${stringify(step)} -> not joined yet`)
        continue
      }
      try {
        switch (step.op) {
          case 'tick':
            simTime += step.ms
            outcome = `time +${step.ms} ms`
            break
          case 'clockJump':
            device!.clock.jumpMs += step.ms
            outcome = `clock jumps ${step.ms} ms (wall ${new Date(wallClock(device!)).toISOString()})`
            break
          case 'badEntry': {
            rogueDeviceId ??= await inner.createDeviceId({ userId: USER, now: simTime })
            const variant = step.variant % BAD_ENTRY_VARIANTS
            // Variants 6 to 9: usable data from a broken clock (2^53, ten years ahead, negative, fractional).
            const createdOn = [2 ** 53, (simTime + 10 * 365 * 24 * HOUR_MS) * 1000 + index, -1000 - index, simTime * 1000 + index + 0.5][variant - 6] ?? simTime * 1000 + index
            const data = [
              '{{ not json',
              JSON.stringify({ operation: 'create', collection: 'collectionFromTheFuture', pk: 'x', value: { a: 1 } }),
              JSON.stringify({ operation: 'upsert', collection: synced[0], pk: 'x', value: {} }),
              JSON.stringify({ operation: 'create', collection: synced[0], pk: { not: 'a pk' }, value: {} }),
              JSON.stringify({ operation: 'modify', collection: synced[0], pk: 'x' }),
              '"just a string"',
            ][variant] ?? JSON.stringify({ operation: 'create', collection: synced[0], pk: `rogue-${index}`, value: randomCreateValues(newestRegistry(), synced[0]!, index) })
            await inner.writeEntries([{ createdOn, data }], { userId: USER, deviceId: rogueDeviceId, now: simTime })
            rogueEntries.push({ deviceId: rogueDeviceId, createdOn })
            outcome = `rogue entry ${createdOn}: ${data}`
            break
          }
          case 'sync':
            outcome = await sync(device!, step.fault, step.tab)
            break
          case 'syncAllTabs': {
            const outcomes = await Promise.all(device!.tabs.map((_, tab) => sync(device!, { kind: 'none' }, tab)))
            outcome = outcomes.map((text, tab) => `tab ${tab}: ${text}`).join('; ')
            break
          }
          case 'appUpdate':
            outcome = await updateApp(device!)
            break
          case 'refusedWrite':
            outcome = limited
              ? await refusedWrite(device!, schemaRegistry(device!.storage), synced[step.collection % synced.length]!, step, limited, remember)
              : 'no limits in this schedule'
            break
          case 'serverUpgrade':
            limited?.upgrade()
            outcome = limited ? 'the server is upgraded' : 'no limits in this schedule'
            break
          case 'retryOutgoing':
            outcome = await retryOutgoing(device!)
            break
          case 'discardOutgoing':
            outcome = await discardOutgoing(device!, reconciler)
            break
          case 'compact': {
            if (!cloud || !served.compact) {
              outcome = 'no replica in this schedule'
              break
            }
            const retentionMs = [0, HOUR_MS, 24 * HOUR_MS][step.retention % 3]!
            const compacted = await served.compact({ userId: USER, retentionMs, now: simTime })
            stats.compactions.runs += 1
            stats.compactions.retiredDevices += compacted.retiredDevices.length
            stats.compactions.deletedEntries += compacted.deletedEntries
            const retired = compacted.retiredDevices.map((id) => byDeviceId.get(stringify(id))?.name ?? JSON.stringify(id))
            outcome = `compacted (retention ${retentionMs} ms): deleted ${compacted.deletedEntries}, ${compacted.remainingEntries} left, retired ${retired.join(', ') || 'none'}`
            break
          }
          case 'cleanup': {
            const { deleted } = await device!.clientSyncLog.deleteObsoleteEntries()
            outcome = `deleted ${deleted} obsolete log entries`
            break
          }
          default:
            outcome = await write(device!, step)
        }
      } catch (error) {
        violations.push(`[unexpected error] step ${index} (${stringify(step)}) threw: ${errorText(error)}`)
        outcome = 'threw'
      }
      trace?.(`#${index} ${device ? `${device.name} ` : ''}${stringify(step)} -> ${outcome}`)
      if (violations.length) break
    }

    try {
      // Final round: every device on the newest app version; no faults; everyone syncs until everything has reached everyone.
      for (const device of devices) {
        if (!device.olderApp) continue
        const outcome = await updateApp(device) // not inside trace?.(): that skips its argument without a trace
        trace?.(`final round: ${device.name} ${outcome}`)
      }
      if (!violations.length) {
        for (let round = 0; round < 2; round += 1) {
          for (const device of devices) {
            simTime += 100
            const outcome = await sync(device, { kind: 'none' })
            trace?.(`final round ${round + 1}: ${device.name} ${outcome}`)
          }
        }
      }
      // Issue 16: the quarantines are exactly what had to be; after an upgrade and a
      // retry only entries refused for good are left, and discarding them converges.
      if (!violations.length && limited) {
        violations.push(...(await checkOutgoingQuarantines(devices, limited, false)))
        if (!violations.length) {
          limited.upgrade()
          for (const device of devices) {
            const outcome = await retryOutgoing(device)
            trace?.(`final: ${device.name} ${outcome}`)
          }
          for (let round = 0; round < 2; round += 1) {
            for (const device of devices) {
              simTime += 100
              const outcome = await sync(device, { kind: 'none' })
              trace?.(`final after upgrade ${round + 1}: ${device.name} ${outcome}`)
            }
          }
          violations.push(...(await checkOutgoingQuarantines(devices, limited, true)))
          for (const device of devices) {
            const outcome = await discardOutgoing(device, reconciler)
            trace?.(`final: ${device.name} ${outcome}`)
          }
        }
      }
      if (!violations.length) {
        violations.push(
          ...(await checkFinalState({ devices, registry: newestRegistry(), synced, unsynced, inner, rogueEntries, rogueDeviceId, expectedState, replica: cloud?.replica ?? null })),
        )
      }
    } catch (error) {
      // Whatever the final rounds and checks throw is a finding, never a crash of the harness.
      violations.push(`[unexpected error] the final round threw: ${errorText(error)}`)
    }
    stats.entries = violations.length ? stats.entries : (await devices[0]!.clientSyncLog.getEntries()).length
  } finally {
    await Promise.allSettled(backgroundWrites)
    // Other tabs close first; tab 0's cleanup drops the database.
    await Promise.allSettled(devices.flatMap((device) => device.tabs.slice(1).map((tab) => tab.storage.cleanup())))
    await Promise.allSettled(devices.map((device) => device.storage?.cleanup()))
    await cloud?.storage.cleanup()
    stats.durationMs = Date.now() - started
  }
  return { violations, stats }
}

/** An entry of the archive in the client log's form (the simulation's devices serialize with JSON). */
function decodeArchived(shared: SharedSyncLogEntry): ClientSyncLogEntry {
  const data = JSON.parse(shared.data)
  return {
    deviceId: shared.deviceId,
    createdOn: shared.createdOn,
    sharedOn: shared.sharedOn,
    needsIntegration: false,
    operation: data.operation,
    collection: data.collection,
    pk: data.pk,
    ...(data.operation === 'delete' ? {} : { value: data.value ?? {} }),
  } as ClientSyncLogEntry
}

async function checkFinalState(context: {
  devices: Device[]
  registry: StorageRegistry
  synced: string[]
  /** Collections that are not synced: each device holds exactly its own local writes there. */
  unsynced: string[]
  inner: ArchivingSharedSyncLog
  rogueEntries: Array<{ deviceId: DeviceId; createdOn: number }>
  rogueDeviceId: DeviceId | null
  expectedState: ExpectedStateFunction | false
  /** The server's replica, when the schedule has one: it must equal every device. */
  replica: SyncReplica | null
}): Promise<string[]> {
  const { devices, registry, synced, inner } = context
  const problems: string[] = []
  const key = (entry: { deviceId: unknown; createdOn: number }) => stringify([entry.deviceId, entry.createdOn])

  // What the shared log ever accepted (compaction may have deleted it from the log since).
  const shared: SharedSyncLogEntry[] = inner.entries()
  const sharedOwn = shared.filter((entry) => stringify(entry.deviceId) !== stringify(context.rogueDeviceId))
  const sharedKeys = new Set(sharedOwn.map(key))
  if (sharedKeys.size !== sharedOwn.length) {
    problems.push(`[3 duplicated] the shared log holds ${sharedOwn.length - sharedKeys.size} entries more than once`)
  }

  const contents: DeviceContents[] = []
  /** Quarantine ids held by some device (or the replica): nothing bad is dropped. */
  const keptAside = new Set<string>()
  const allEntries = new Map<string, ClientSyncLogEntry>()
  for (const device of devices) {
    const deviceContents: DeviceContents = {}
    for (const collection of synced) {
      deviceContents[collection] = {}
      const objects = (await device.storage.storageManager.collection(collection).findObjects({})) as Array<Record<string, unknown>>
      for (const object of objects) {
        const objectKey = getObjectKey(collection, object['id'])
        if (deviceContents[collection]![objectKey]) {
          problems.push(`[3 duplicated] ${device.name} holds ${objectKey} twice`)
        }
        deviceContents[collection]![objectKey] = normalizeObject(registry, collection, object)
      }
    }
    contents.push(deviceContents)

    const entries = await device.clientSyncLog.getEntries()
    const keys = entries.map(key)
    if (new Set(keys).size !== keys.length) {
      problems.push(`[3 duplicated] ${device.name}'s log holds an entry twice`)
    }
    for (const entry of entries) {
      allEntries.set(key(entry), entry)
      if (entry.needsIntegration) {
        problems.push(`[3 pending] ${device.name} still has entry ${key(entry)} awaiting integration after the final round`)
      }
      if (entry.sharedOn === null) {
        problems.push(`[2 unsent] ${device.name} never sent its entry ${key(entry)} (${entry.operation} ${getObjectKey(entry.collection, entry.pk)})`)
      }
      if (stringify(entry.deviceId) === stringify(device.deviceId) && !sharedKeys.has(key(entry))) {
        problems.push(`[2 lost write] ${device.name}'s entry ${key(entry)} is marked shared but the shared log does not have it`)
      }
    }
    const pending = await device.clientSyncLog.countPending()
    if (pending.unshared || pending.needsIntegration) {
      problems.push(`[3 pending] ${device.name} has ${stringify(pending)} pending after the final round`)
    }
    let local = 0
    for (const collection of context.unsynced) {
      const objects = (await device.storage.storageManager.collection(collection).findObjects({})) as Array<Record<string, unknown>>
      local += objects.length
      const foreign = objects.filter((object) => !String(object['id']).startsWith(`${device.name}-local-`))
      if (foreign.length) {
        problems.push(`[bad input] ${device.name}'s unsynced collection ${collection} holds another device's objects: ${foreign.map((object) => object['id']).join(', ')}`)
      }
    }
    if (local !== device.localWrites) {
      problems.push(`[2 lost write] ${device.name} wrote ${device.localWrites} objects to unsynced collections but holds ${local}`)
    }
    const quarantinedEntries = await device.clientSyncLog.getQuarantinedEntries()
    const quarantined = new Set(quarantinedEntries.map((entry) => entry.id))
    quarantined.forEach((id) => keptAside.add(id))
    const expectedQuarantine = new Set(context.rogueEntries.map((entry) => getQuarantineId(entry.deviceId, entry.createdOn)))
    // With a replica, a device that started from a snapshot never reads the rogue entries the replica
    // keeps aside itself: it must hold no others, and someone must hold each (checked below).
    const mismatch = context.replica
      ? [...quarantined].some((id) => !expectedQuarantine.has(id))
      : stringify([...quarantined].sort()) !== stringify([...expectedQuarantine].sort())
    if (mismatch) {
      const extra = quarantinedEntries.filter((entry) => !expectedQuarantine.has(entry.id)).map((entry) => `${entry.reason}: ${entry.message}`)
      problems.push(
        `[bad input] ${device.name} quarantined ${quarantined.size} entries, expected exactly the ${expectedQuarantine.size} rogue ones${extra.length ? `; not rogue: ${extra.join('; ')}` : ''}`,
      )
    }
  }
  // Logs shrink (compaction at each sync, cleanup steps, snapshots of compacted histories), but
  // never below what can still change a verdict.
  const history = sharedOwn.map(decodeArchived)
  const mustHold = context.expectedState === false ? new Set<string>() : entriesThatMatter(history)
  for (const device of devices) {
    const keys = new Set((await device.clientSyncLog.getEntries()).map(key))
    for (const sharedKey of mustHold) {
      if (!keys.has(sharedKey)) {
        problems.push(`[1 identical] ${device.name}'s log lacks the shared entry ${sharedKey}, which can still change a verdict`)
      }
    }
  }
  if (context.replica) {
    problems.push(...(await checkReplica(context.replica, USER, contents[0]!, registry, synced)))
    for (const entry of await context.replica.getQuarantinedEntries(USER)) keptAside.add(getQuarantineId(entry.deviceId, entry.createdOn))
    for (const rogue of context.rogueEntries) {
      if (!keptAside.has(getQuarantineId(rogue.deviceId, rogue.createdOn))) {
        problems.push(`[bad input] the rogue entry ${key(rogue)} was dropped: neither a device nor the replica keeps it aside`)
      }
    }
  }

  for (let index = 1; index < devices.length; index += 1) {
    if (stringify(contents[index]) !== stringify(contents[0])) {
      problems.push(...compareWithExpected(`[1 identical] ${devices[index]!.name} (vs ${devices[0]!.name})`, contents[index]!, contents[0]!, null, registry).map((line) => line.replace(/^\[[^\]]+\] /, '')))
      problems.push(`[1 identical] ${devices[index]!.name} and ${devices[0]!.name} hold different data`)
    }
  }
  if (context.expectedState) {
    // The whole history, as the shared log holds it (devices may have cleaned theirs up).
    const entries: ClientSyncLogEntry[] = [...history]
    for (const entry of allEntries.values()) {
      if (!sharedKeys.has(key(entry))) entries.push(entry)
    }
    const expected = context.expectedState(entries, registry)
    const states = foldHistories(entries, registry)
    for (const [index, device] of devices.entries()) {
      problems.push(...compareWithExpected(device.name, contents[index]!, expected, states, registry))
    }
  }
  return problems
}
