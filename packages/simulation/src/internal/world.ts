import type { StorageRegistry } from '@worldbrain/storex'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { MemorySharedSyncLog, type DeviceId, type SharedSyncLog, type SharedSyncLogEntry } from '@storex-sync/shared-sync-log-core'
import { defaultBackends, sqliteBackend, type SimulationBackendFactory } from '../backends'
import { ArchivingSharedSyncLog, openCloudReplica } from '../cloud'
import { SimulationError } from '../errors'
import { checkCursor } from '../invariants/cursor'
import { lastWriterWins, type ExpectedStateFunction } from '../invariants/expected-state'
import { LimitedSharedSyncLog } from '../limited-log'
import type { RunScheduleOptions, RunStats } from '../run'
import { emptyRunStats } from '../stats'
import type { DeviceSpec, Schedule } from '../schedule'
import { defaultSimulationSchema, validateSimulationSchema } from '../schema'
import { USER, describeApp, registryOf, type SimulatedApp } from './app'
import { SimulatedDevice } from './device'
import { FaultInjector, RogueWriter, SIMULATION_START } from './faults'
import { pickCyclic } from './pick'
import stringify from './stable-stringify'

/** Simulated time (ms): every step and every sync of the final round moves it on. */
export class SimulatedTime {
  now = SIMULATION_START

  advance(ms: number): void {
    this.now += ms
  }
}

type CloudReplica = Awaited<ReturnType<typeof openCloudReplica>>

/**
 * Everything a run's devices share: simulated time, the shared log (archived,
 * with the server's replica and limits when the schedule has them, behind the
 * fault injector), the rogue writer, and what the checks collect.
 */
export class SimulationWorld {
  readonly violations: string[] = []
  readonly stats: RunStats = emptyRunStats()
  readonly devices: SimulatedDevice[] = []
  /** What the devices sync with. */
  readonly faults: FaultInjector
  readonly rogue: RogueWriter
  private readonly byDeviceId = new Map<string, SimulatedDevice>()
  /** Pks ever written, by synced collection: what a `recreate` step can bring back. */
  private readonly knownPks = new Map<string, Set<string>>()
  /** App writes started during a sync (faults); each sync waits for its own before it returns. */
  private readonly backgroundWrites: Array<Promise<void>> = []

  private constructor(
    readonly schedule: Schedule,
    readonly app: SimulatedApp,
    readonly backends: Record<string, SimulationBackendFactory>,
    /** The app's reconciler, as given (devices sync with `faults.reconciler`). */
    readonly reconciler: ReconcilerFunction,
    readonly expectedState: ExpectedStateFunction | false,
    readonly trace: ((line: string) => void) | undefined,
    readonly time: SimulatedTime,
    /** The shared log, recording every entry it accepts. */
    readonly archive: ArchivingSharedSyncLog,
    /** Issue 13: the server's replica of the user's data beside the log (snapshots, compaction). */
    readonly cloud: CloudReplica | null,
    /** Issue 16: a largest write and refusals, between the devices and the log. */
    readonly limited: LimitedSharedSyncLog | null,
  ) {
    for (const collection of app.synced) this.knownPks.set(collection, new Set())
    this.faults = new FaultInjector(limited ?? this.served, reconciler, {
      beforeMarkAsSeen: (deviceId, entries) => this.checkCursorAtMarkAsSeen(deviceId, entries),
    })
    this.rogue = new RogueWriter(archive, USER)
  }

  /** Checks the options and the schedule, and opens the shared log (devices are added with `addDevice`). */
  static async open(schedule: Schedule, options: RunScheduleOptions): Promise<SimulationWorld> {
    const schema = options.schema ?? defaultSimulationSchema
    validateSimulationSchema(schema)
    const app = describeApp(schema)
    if (!schedule?.devices?.length || schedule.devices.length > 20) {
      throw new SimulationError('INVALID_SCHEDULE', `a schedule needs 1 to 20 devices, got ${schedule?.devices?.length}.`)
    }
    const reconciler = options.reconciler ?? (reconcileSyncLog as ReconcilerFunction)
    const time = new SimulatedTime()
    // Every entry the log accepts is archived: the checks know the whole history after compaction.
    const archive = new ArchivingSharedSyncLog(options.createSharedSyncLog ? await options.createSharedSyncLog() : new MemorySharedSyncLog())
    const cloud = schedule.replica
      ? await openCloudReplica(archive, sqliteBackend, { now: () => time.now, collections: schema.collections, reconciler })
      : null
    const limited = schedule.limits ? new LimitedSharedSyncLog(cloud?.served ?? archive, schedule.limits) : null
    return new SimulationWorld(
      schedule,
      app,
      options.backends ?? defaultBackends,
      reconciler,
      options.expectedState === undefined ? lastWriterWins : options.expectedState,
      options.trace,
      time,
      archive,
      cloud,
      limited,
    )
  }

  /** The log as the server serves it: through the replica when there is one. */
  get served(): SharedSyncLog {
    return this.cloud?.served ?? this.archive
  }

  /** Opens the schedule's device `index` (it takes part in the checks from now on, even if opening fails). */
  async addDevice(spec: DeviceSpec, index: number): Promise<void> {
    const factory = this.backends[spec.backend]
    if (!factory) {
      throw new SimulationError(
        'INVALID_SCHEDULE',
        `the schedule names backend '${spec.backend}', but only ${Object.keys(this.backends).join(', ')} are configured.`,
      )
    }
    const device = new SimulatedDevice(this, index, spec, factory)
    this.devices.push(device)
    await device.open()
  }

  /** The device a step names (modulo the number of devices). */
  deviceAt(index: number): SimulatedDevice {
    return pickCyclic(this.devices, index)
  }

  /** Makes a device findable by its id (at its start, or after an offline-first device's first sync). */
  registerDeviceId(device: SimulatedDevice): void {
    this.byDeviceId.set(stringify(device.deviceId), device)
  }

  /** A device's name, or its id when no device of the run has it. */
  deviceName(deviceId: DeviceId): string {
    return this.byDeviceId.get(stringify(deviceId))?.name ?? JSON.stringify(deviceId)
  }

  /** The registry of the newest app version any device runs. */
  newestRegistry(): StorageRegistry {
    return registryOf((this.devices.find((device) => !device.olderApp) ?? this.deviceAt(0)).storage)
  }

  remember(collection: string, pk: unknown): void {
    let pks = this.knownPks.get(collection)
    if (!pks) this.knownPks.set(collection, (pks = new Set()))
    pks.add(String(pk))
  }

  knownPksOf(collection: string): ReadonlySet<string> {
    return this.knownPks.get(collection) ?? new Set()
  }

  runInBackground(write: Promise<void>): void {
    this.backgroundWrites.push(write)
  }

  /** Waits for the app writes started in the background so far. */
  settleBackgroundWrites(): Promise<unknown> {
    return Promise.all(this.backgroundWrites.splice(0))
  }

  /** Waits for what still runs, then closes every device's storage and the replica's. */
  async close(): Promise<void> {
    await Promise.allSettled(this.backgroundWrites)
    // Other tabs close first; tab 0's cleanup drops the database.
    await Promise.allSettled(this.devices.flatMap((device) => device.tabs.slice(1).map((tab) => tab.storage.cleanup())))
    await Promise.allSettled(this.devices.map((device) => device.tabs[0]?.storage.cleanup()))
    await this.cloud?.storage.cleanup()
  }

  /** Invariant 5, at every markAsSeen of a device of the run. */
  private async checkCursorAtMarkAsSeen(deviceId: DeviceId, page: SharedSyncLogEntry[]): Promise<void> {
    let device = this.byDeviceId.get(stringify(deviceId))
    for (const candidate of this.devices) {
      if (device) break
      const identity = candidate.offlineFirst ? await candidate.clientSyncLog.getDeviceIdentity() : null
      if (identity?.registered && stringify(identity.deviceId) === stringify(deviceId)) device = candidate
    }
    if (!device) return
    const entries = await device.clientSyncLog.getEntries()
    const quarantined = await device.clientSyncLog.getQuarantinedEntries()
    this.violations.push(...checkCursor({ name: device.name, entries, quarantined }, page))
  }
}
