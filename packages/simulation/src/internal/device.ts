import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import type { DeviceId } from '@storex-sync/shared-sync-log-core'
import { doSync, type SyncEventEmitter } from '@storex-sync/sync-orchestrator'
import type { SimulationBackendFactory, SimulationStorage } from '../backends'
import { unexpectedError } from '../invariants/unexpected-error'
import type { RunStats } from '../run'
import type { DeviceSpec, SyncFault } from '../schedule'
import { randomCreateValues, type SimulationSchema } from '../schema'
import { USER, registryOf, type OlderAppVersion } from './app'
import { applyWrite, localBatch, type WriteStep } from './device-writes'
import { BoundaryFaults, DeviceClock, isSimulatedFault } from './faults'
import { pickCyclic } from './pick'
import type { SimulationWorld } from './world'

/** One StorageManager over a device's database: a browser tab of the app. */
export interface Tab {
  storage: SimulationStorage
  clientSyncLog: ClientSyncLogStorage
  pkMiddleware: CustomAutoPkMiddleware
  logging: SyncLoggingMiddleware
}

/** Counts what a sync reports in the run's stats. */
function countSyncEvent(stats: RunStats, name: string, payload: any): void {
  if (name === 'objectIntegrationFailed') stats.integrationFailures += 1
  if (name === 'bootstrapFinished') stats.bootstraps[payload.mode as 'fresh' | 'merge'] += 1
  if (name === 'entriesQuarantined') stats.quarantined += payload.entries.length
  if (name === 'outgoingEntriesQuarantined') stats.outgoingQuarantined += payload.entries.length
  if (name === 'outgoingEntriesSettled') stats.outgoingSettled += payload.dropped
}

/**
 * A device of the schedule: its database, opened by one or more tabs (each a
 * StorageManager with custom pks, sync logging and its client sync log), its
 * clock, and the app version it runs. Its steps write, sync, update the app.
 */
export class SimulatedDevice {
  readonly name: string
  /** 0 until an offline-first device's first sync registers it. */
  deviceId: DeviceId = 0
  /** Every instance over the device's database (tab 0 first); all share the device id and the clock. */
  readonly tabs: Tab[] = []
  readonly clock: DeviceClock
  /** Started without a device id: `deviceId` is known after its first successful sync. */
  readonly offlineFirst: boolean
  /** Objects the app wrote to collections that are not synced (they must never travel). */
  localWrites = 0
  batchCounter = 0
  private pkCounter = 0
  /** Set while the device runs the older app version (until its update). */
  private olderVersion: OlderAppVersion | null

  constructor(
    readonly world: SimulationWorld,
    readonly index: number,
    private readonly spec: DeviceSpec,
    private readonly factory: SimulationBackendFactory,
  ) {
    this.name = `d${index}`
    this.clock = new DeviceClock(spec.skewMs, spec.driftPpm)
    this.offlineFirst = !!spec.offlineFirst
    this.olderVersion = spec.olderApp && spec.backend === 'indexeddb' ? world.app.olderVersion : null
  }

  get olderApp(): boolean {
    return this.olderVersion !== null
  }

  /** Tab 0: the instance the checks read. */
  get storage(): SimulationStorage {
    return this.tab(0).storage
  }

  get clientSyncLog(): ClientSyncLogStorage {
    return this.tab(0).clientSyncLog
  }

  /** The tab a step names (modulo the device's tabs; default 0). */
  tab(index: number | undefined): Tab {
    return pickCyclic(this.tabs, index ?? 0)
  }

  /** Whether the device takes part at the schedule's step `index`. */
  joinedBy(index: number): boolean {
    return (this.spec.joinAt ?? 0) <= index
  }

  wallClock(): number {
    return this.clock.read(this.world.time.now)
  }

  /** Registers the device (unless it starts offline) and opens its tabs. */
  async open(): Promise<void> {
    if (!this.offlineFirst) {
      this.deviceId = await this.world.faults.sharedSyncLog.createDeviceId({ userId: USER, now: this.world.time.now })
      this.world.registerDeviceId(this)
    }
    // Without an id the device writes under the id its log makes, and registers at its first sync.
    const tabs = this.olderApp ? 1 : Math.max(1, this.spec.tabs ?? 1)
    const collections = this.olderVersion?.collections ?? this.world.app.collections
    for (let tabIndex = 0; tabIndex < tabs; tabIndex += 1) {
      const database = this.tabs[0]?.storage.database
      if (tabIndex > 0 && !database) break // this backend cannot open one database twice
      this.tabs.push(await this.openTab(tabIndex, database, collections))
      if (tabIndex === 0 && this.spec.preexisting) await this.writePreexisting(this.spec.preexisting)
    }
  }

  /**
   * Objects the app wrote before it adopted sync: the same pks on every
   * device that has them (one catalogue), values of its own.
   */
  private async writePreexisting(count: number): Promise<void> {
    const tab = this.tab(0)
    const { storageManager } = tab.storage
    storageManager.setMiddleware([tab.pkMiddleware])
    const collection = pickCyclic(this.world.app.synced, 0)
    for (let index = 1; index <= count; index += 1) {
      const id = `pre-${index}`
      await storageManager.collection(collection).createObject({ ...randomCreateValues(registryOf(tab.storage), collection, this.index * 31 + index), id })
      this.world.remember(collection, id)
    }
    storageManager.setMiddleware([tab.pkMiddleware, tab.logging])
  }

  /** Opens a StorageManager over the device's database (a new one, or `database` again) with sync set up. */
  private async openTab(tabIndex: number, database: string | undefined, collections: SimulationSchema['collections']): Promise<Tab> {
    let clientSyncLog!: ClientSyncLogStorage
    const storage = await this.factory({
      name: this.name,
      ...(database ? { database } : {}),
      setup: (storageManager) => {
        // A copy per registry: storex adds derived properties to the definitions it registers.
        storageManager.registry.registerCollections(structuredClone(collections))
        clientSyncLog = new ClientSyncLogStorage({ storageManager })
        registerModuleMapCollections(storageManager.registry, { clientSyncLog })
      },
    })
    const synced = this.world.app.synced
    const prefix = tabIndex === 0 ? this.name : `${this.name}t${tabIndex}`
    const pkMiddleware = new CustomAutoPkMiddleware({ pkGenerator: () => `${prefix}-${++this.pkCounter}` })
    pkMiddleware.setup({ storageRegistry: storage.storageManager.registry, collections: synced })
    const logging = new SyncLoggingMiddleware({
      storageManager: storage.storageManager,
      clientSyncLog,
      includeCollections: synced,
      getNow: () => this.wallClock(),
    })
    if (this.offlineFirst) logging.enable()
    else logging.enable(this.deviceId)
    storage.storageManager.setMiddleware([pkMiddleware, logging])
    return { storage, clientSyncLog, pkMiddleware, logging }
  }

  /** The app update of a device on the older app version: its database opened again with the full schema. */
  async updateApp(): Promise<string> {
    const older = this.olderVersion
    if (!older) return 'already on the newest app version'
    const previous = this.tab(0)
    ;(previous.storage.storageManager.backend as { dexieInstance?: { close(): void } }).dexieInstance?.close()
    this.tabs[0] = await this.openTab(0, previous.storage.database, older.updatedCollections)
    this.olderVersion = null
    return `app updated: ${older.field.collection}.${older.field.field} is known now`
  }

  /** Tab 0's objects of a collection, by pk. */
  async localObjects(collection: string): Promise<Array<Record<string, unknown>>> {
    const objects = (await this.storage.storageManager.collection(collection).findObjects({})) as Array<Record<string, unknown>>
    return objects.sort((a, b) => (String(a['id']) < String(b['id']) ? -1 : String(a['id']) > String(b['id']) ? 1 : 0))
  }

  /** A write step of the app on this device. */
  write(step: WriteStep): Promise<string> {
    return applyWrite(this, step)
  }

  /** Deletes the obsolete entries of the device's log. */
  async cleanUpLog(): Promise<string> {
    const { deleted } = await this.clientSyncLog.deleteObsoleteEntries()
    return `deleted ${deleted} obsolete log entries`
  }

  /** One sync of a tab, with `fault` armed. An injected fault interrupts it; any other error is a violation. */
  async sync(fault: SyncFault, tab = 0): Promise<string> {
    const { world } = this
    const { storage, clientSyncLog } = this.tab(tab)
    world.stats.syncs += 1
    world.faults.arm(fault)
    const boundaries = new BoundaryFaults(fault, this.concurrentApp(tab), () => (world.stats.faultsFired += 1))
    const events: SyncEventEmitter = {
      emit: (name: string, payload: any) => {
        if (name === 'syncFailed') return
        countSyncEvent(world.stats, name, payload)
        boundaries.reached(name)
      },
    }
    const firedBefore = world.faults.logFaultsFired
    try {
      const result = await doSync({
        storageManager: storage.storageManager,
        clientSyncLog,
        sharedSyncLog: world.faults.sharedSyncLog,
        reconciler: world.faults.reconciler,
        now: this.wallClock(),
        userId: USER,
        ...(this.offlineFirst ? {} : { deviceId: this.deviceId }),
        batchSize: world.schedule.batchSize,
        snapshotPageSize: world.schedule.batchSize,
        integrationBatchSize: world.schedule.integrationBatchSize,
        events,
      })
      return `synced: received ${result.received.entries} (stored ${result.received.stored}, duplicates ${result.received.duplicates}, quarantined ${result.received.quarantined}), sent ${result.sent.entries}, integrated ${result.integrated.objects} objects${result.integrated.failed ? `, ${result.integrated.failed} failed` : ''}`
    } catch (error) {
      if (isSimulatedFault(error)) {
        return `sync interrupted: ${(error as Error).message}`
      }
      world.violations.push(unexpectedError(`sync of ${this.name} threw`, error))
      return `sync threw unexpectedly`
    } finally {
      if (this.offlineFirst) await this.learnDeviceId()
      world.stats.faultsFired += world.faults.logFaultsFired - firedBefore
      world.faults.disarm()
      await world.settleBackgroundWrites()
    }
  }

  /** The app writing while a sync of tab `tab` runs: from the next tabs, in the background. */
  private concurrentApp(tab: number) {
    const { world } = this
    const traced = (work: Promise<string>, event: string, failure: string) =>
      world.runInBackground(
        work.then(
          (what) => world.trace?.(`    (during the sync, at ${event}) ${this.name} ${what}`),
          (error) => {
            world.violations.push(unexpectedError(failure, error))
          },
        ),
      )
    return {
      localBatch: (seed: number, event: string) =>
        traced(localBatch(this, tab + 1, seed), event, `a local batch on ${this.name} during its sync failed`),
      write: (seed: number, event: string) =>
        traced(
          applyWrite(this, { op: 'create', device: this.index, collection: seed, seed, tab: tab + seed }),
          event,
          `a write on ${this.name} during its sync failed`,
        ),
    }
  }

  /** An offline-first device's id, once its first sync registered it. */
  private async learnDeviceId(): Promise<void> {
    const identity = await this.clientSyncLog.getDeviceIdentity()
    if (identity?.registered && this.deviceId !== identity.deviceId) {
      this.deviceId = identity.deviceId
      this.world.registerDeviceId(this)
    }
  }
}
