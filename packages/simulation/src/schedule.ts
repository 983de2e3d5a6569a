import fc from 'fast-check'
import type { SharedLogLimitsSpec } from './limited-log'

/** A device of a schedule: where it stores data and how wrong its clock is. */
export interface DeviceSpec {
  backend: string
  /** Constant clock offset (ms), seconds to hours either way. */
  skewMs: number
  /** Clock rate error in parts per million (+: runs fast). */
  driftPpm: number
  /**
   * StorageManagers over the device's one database, as browser tabs of one app
   * (same device id). Backends that cannot open a database twice get one.
   * Default 1.
   */
  tabs?: number
  /** Objects (pks pre-1, pre-2, ...) in the first synced collection, written before sync was enabled. Default 0. */
  preexisting?: number
  /** Starts without a device id: writes before its first contact, registers at its first sync. Default false. */
  offlineFirst?: boolean
  /**
   * Runs the older app version, which lacks one field, until an `appUpdate`
   * step (IndexedDB devices with one tab; ignored elsewhere). Default false.
   */
  olderApp?: boolean
  /**
   * The step from which the device takes part: steps for it before are
   * skipped, so it joins (and, with a replica, bootstraps) at a random
   * moment. Default 0.
   */
  joinAt?: number
}

/** What can go wrong during one sync. `at` picks the call or step, counted from 0 within the sync. */
export type SyncFault =
  | { kind: 'none' }
  /** The at-th shared-log call fails before its work. */
  | { kind: 'failBefore'; at: number }
  /** The at-th shared-log call does its work, then its response is lost. */
  | { kind: 'failAfter'; at: number }
  /** Reads from the at-th call on deliver entries twice and the previous page again. */
  | { kind: 'duplicate'; at: number }
  /** The sync stops at its at-th step boundary (an event: stage start, page stored, batch sent or integrated). */
  | { kind: 'abort'; at: number }
  /** The app writes to this device at the sync's at-th step boundary, while the sync runs. */
  | { kind: 'writeDuring'; at: number; seed: number }
  /** The reconciler throws for about a third of the objects (chosen by seed) during this sync. */
  | { kind: 'reconcilerThrows'; seed: number }
  /** The app writes a batch to a collection that is not synced at the sync's at-th step boundary. */
  | { kind: 'localBatchDuring'; at: number; seed: number }

/**
 * One step. `device` and `collection` are taken modulo the number of devices
 * and synced collections, and `pick` modulo the candidate objects at run
 * time, so any subsequence of a schedule is itself a valid schedule (which is
 * what lets fast-check shrink failures). `seed` drives the generated values.
 */
export type Step = (
  | { op: 'create'; device: number; collection: number; seed: number }
  | { op: 'update'; device: number; collection: number; pick: number; seed: number }
  | { op: 'delete'; device: number; collection: number; pick: number }
  /** Creates an object again with the pk of one this device does not hold (deleted, or not received yet). */
  | { op: 'recreate'; device: number; collection: number; pick: number; seed: number }
  | { op: 'updateWhere'; device: number; collection: number; seed: number }
  | { op: 'deleteWhere'; device: number; collection: number; seed: number }
  /** One executeBatch of creates, updates and deletes (an update may hit an object created in the same batch). */
  | { op: 'batch'; device: number; collection: number; seed: number; size: number }
  | { op: 'sync'; device: number; fault: SyncFault }
  /** Simulated time passes for everyone. */
  | { op: 'tick'; ms: number }
  /** One device's clock jumps forward or backward. */
  | { op: 'clockJump'; device: number; ms: number }
  /** The device deletes obsolete log entries (ClientSyncLogStorage.deleteObsoleteEntries). */
  | { op: 'cleanup'; device: number }
  /** A rogue writer puts an entry the devices cannot use into the shared log (bad data, or a broken clock). */
  | { op: 'badEntry'; variant: number }
  /** Every tab of the device creates objects at once, within one millisecond. */
  | { op: 'burst'; device: number; collection: number; seed: number; size: number }
  /** Every tab of the device starts a sync at once (one runs at a time per device). */
  | { op: 'syncAllTabs'; device: number }
  /** A device on the older app version updates (its database opens with the newer schema). */
  | { op: 'appUpdate'; device: number }
  /** Writes a value the limited shared log refuses (kind 0: too large, 1: for good, 2: until the server upgrade); pick odd updates an object. */
  | { op: 'refusedWrite'; device: number; collection: number; pick: number; kind: number }
  /** The server is upgraded: larger writes and entries refused until then pass. */
  | { op: 'serverUpgrade' }
  /**
   * The server compacts the log through its replica: devices silent for
   * longer than the retention (0, 1 hour or 1 day by `retention`) are retired,
   * entries every active device has read are deleted. Needs `replica`.
   */
  | { op: 'compact'; retention: number }
  /** The device retries its outgoing quarantine. */
  | { op: 'retryOutgoing'; device: number }
  /** The device discards its outgoing quarantine. */
  | { op: 'discardOutgoing'; device: number }
) & {
  /** Which tab of the device does it (modulo its tabs; default 0). */
  tab?: number
}

export interface Schedule {
  devices: DeviceSpec[]
  /** doSync batchSize (entries per page, both ways). */
  batchSize: number
  /** doSync integrationBatchSize. */
  integrationBatchSize: number
  /** The shared log's limits (a largest write, refusals); none when absent. */
  limits?: SharedLogLimitsSpec | null
  /**
   * The server keeps a replica of the user's data: new devices bootstrap
   * from its snapshot, `compact` steps compact the log, and the checks
   * demand that the replica equals every device. Default false.
   */
  replica?: boolean
  steps: Step[]
}

export interface ScheduleArbitraryOptions {
  /** Number of devices, or a [min, max] range. Default 3; at most 20. */
  devices?: number | [number, number]
  /** Backend names to spread devices over. Default ['indexeddb', 'sqlite']. */
  backendNames?: string[]
  /** Most steps in a schedule. Default 40. */
  maxSteps?: number
  /** Include rogue bad entries in the shared log. Default true. */
  badEntries?: boolean
  /** A shared log with limits and refusals, and the steps that meet them. Default true. */
  outgoingRefusals?: boolean
  /** Which sync faults to inject. Default: all kinds. */
  faultKinds?: Array<Exclude<SyncFault['kind'], 'none'>>
  /** Include `cleanup` steps (deleteObsoleteEntries, which assumes the default rules). Default true. */
  cleanup?: boolean
  /**
   * The cloud as a device: schedules with a replica (half of them), `compact`
   * steps, devices that join late. Default true.
   */
  replica?: boolean
}

const HOUR = 3_600_000
const FAULT_ORDER = ['none', 'failBefore', 'failAfter', 'duplicate', 'abort', 'writeDuring', 'reconcilerThrows', 'localBatchDuring'] as const
/** Rogue entries: 6 with data the devices cannot use, 4 with a broken clock. */
export const BAD_ENTRY_VARIANTS = 10
function faultKindAt(index: number): string {
  return FAULT_ORDER[index]!
}

export function scheduleArbitrary(options: ScheduleArbitraryOptions = {}): fc.Arbitrary<Schedule> {
  const [minDevices, maxDevices] = Array.isArray(options.devices) ? options.devices : [options.devices ?? 3, options.devices ?? 3]
  const backends = options.backendNames ?? ['indexeddb', 'sqlite']
  const device = fc.nat({ max: maxDevices - 1 })
  const collection = fc.nat({ max: 7 })
  const seed = fc.nat()
  const pick = fc.nat({ max: 1000 })
  const at = fc.nat({ max: 12 })
  const call = fc.nat({ max: 5 })
  const kinds = new Set(options.faultKinds ?? ['failBefore', 'failAfter', 'duplicate', 'abort', 'writeDuring', 'reconcilerThrows', 'localBatchDuring'])
  const tab = fc.nat({ max: 2 })
  const faults: Array<{ weight: number; arbitrary: fc.Arbitrary<SyncFault> }> = [
    { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('failBefore' as const), at: call }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('failAfter' as const), at: call }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: call }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), at }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('writeDuring' as const), at, seed }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconcilerThrows' as const), seed }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('localBatchDuring' as const), at, seed }) },
  ]
  const fault = fc.oneof(...faults.filter((item, index) => index === 0 || kinds.has((item as any).kind ?? faultKindAt(index))))
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('create' as const), device, collection, seed, tab }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('update' as const), device, collection, pick, seed, tab }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), device, collection, pick, tab }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('recreate' as const), device, collection, pick, seed, tab }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('updateWhere' as const), device, collection, seed, tab }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteWhere' as const), device, collection, seed, tab }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('batch' as const), device, collection, seed, size: fc.integer({ min: 1, max: 6 }), tab }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('burst' as const), device, collection, seed, size: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 6, arbitrary: fc.record({ op: fc.constant('sync' as const), device, fault, tab }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('syncAllTabs' as const), device }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('appUpdate' as const), device }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: HOUR }) }) },
    ...(options.cleanup === false ? [] : [{ weight: 1, arbitrary: fc.record({ op: fc.constant('cleanup' as const), device }) }]),
    ...(options.replica === false ? [] : [{ weight: 2, arbitrary: fc.record({ op: fc.constant('compact' as const), retention: fc.nat({ max: 2 }) }) }]),
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clockJump' as const), device, ms: fc.integer({ min: -6 * HOUR, max: 6 * HOUR }) }) },
    ...(options.badEntries === false ? [] : [{ weight: 1, arbitrary: fc.record({ op: fc.constant('badEntry' as const), variant: fc.nat({ max: BAD_ENTRY_VARIANTS - 1 }) }) }]),
    ...(options.outgoingRefusals === false
      ? []
      : [
          { weight: 2, arbitrary: fc.record({ op: fc.constant('refusedWrite' as const), device, collection, pick, kind: fc.nat({ max: 2 }) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('serverUpgrade' as const) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('retryOutgoing' as const), device }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('discardOutgoing' as const), device }) },
        ]),
  )
  const deviceSpec = fc.record({
    backend: fc.constantFrom(...backends),
    skewMs: fc.integer({ min: -3 * HOUR, max: 3 * HOUR }),
    driftPpm: fc.integer({ min: -50_000, max: 50_000 }),
    tabs: fc.integer({ min: 1, max: 3 }),
    preexisting: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
    offlineFirst: fc.boolean(),
    olderApp: fc.boolean(),
    joinAt: options.replica === false ? fc.constant(0) : fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: options.maxSteps ?? 40 }) }),
  })
  // noBias: each seed generates one schedule, and fast-check's bias towards
  // small values on early runs would make every schedule tiny.
  return fc.noBias(fc.record({
    devices: fc.array(deviceSpec, { minLength: minDevices, maxLength: maxDevices, size: 'max' }),
    batchSize: fc.constantFrom(1, 2, 3, 5, 1000),
    integrationBatchSize: fc.constantFrom(1, 2, 4, 500),
    limits:
      options.outgoingRefusals === false
        ? fc.constant(null)
        : fc.oneof(
            { weight: 1, arbitrary: fc.constant(null) },
            { weight: 3, arbitrary: fc.record({ maxWriteBytes: fc.constantFrom(1200, 3000, 20_000), publish: fc.boolean() }) },
          ),
    replica: options.replica === false ? fc.constant(false) : fc.boolean(),
    steps: fc.array(step, { minLength: 1, maxLength: options.maxSteps ?? 40, size: 'max' }),
  }))
}
