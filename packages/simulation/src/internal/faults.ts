import type { StorageRegistry } from '@worldbrain/storex'
import { getObjectKey, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import type { DeviceId, SharedSyncLog, UserId } from '@storex-sync/shared-sync-log-core'
import { FaultySharedSyncLog, SimulatedFault, type FaultySharedSyncLogHooks, type SharedLogFault } from '../faulty-log'
import { BAD_ENTRY_VARIANTS, type SyncFault } from '../schedule'
import { randomCreateValues } from '../schema'

/** Simulated time (ms) when a run starts. */
export const SIMULATION_START = 1_700_000_000_000
export const HOUR_MS = 3_600_000

/** A device's wall clock: simulated time off by a constant skew, a drift rate and the jumps so far. */
export class DeviceClock {
  private jumpMs = 0

  constructor(
    private readonly skewMs: number,
    private readonly driftPpm: number,
  ) {}

  jump(ms: number): void {
    this.jumpMs += ms
  }

  /** What the clock shows at simulated time `now`. */
  read(now: number): number {
    return Math.floor(now + this.skewMs + this.jumpMs + ((now - SIMULATION_START) * this.driftPpm) / 1_000_000)
  }
}

/** Whether an error is (or was caused by) an injected fault, which a sync may throw; anything else is a finding. */
export function isSimulatedFault(error: unknown): boolean {
  for (let current = error as any, depth = 0; current && depth < 5; current = current.cause, depth += 1) {
    if (current instanceof SimulatedFault || current?.name === 'SimulatedFault') return true
  }
  return false
}

function hash(text: string): number {
  let value = 2166136261
  for (let index = 0; index < text.length; index += 1) {
    value = Math.imul(value ^ text.charCodeAt(index), 16777619)
  }
  return value >>> 0
}

/** The sync fault's part that the shared log injects, if any. */
function sharedLogFaultOf(fault: SyncFault): SharedLogFault | null {
  return fault.kind === 'failBefore' || fault.kind === 'failAfter' || fault.kind === 'duplicate' ? { kind: fault.kind, call: fault.at } : null
}

/**
 * What every sync talks to, with the faults of the current sync armed: the
 * shared log (calls that fail, responses lost, entries delivered twice) and
 * the reconciler (throws for about a third of the objects).
 */
export class FaultInjector {
  readonly sharedSyncLog: FaultySharedSyncLog
  /** The app's reconciler, failing while a `reconcilerThrows` fault is armed. */
  readonly reconciler: ReconcilerFunction
  private reconcilerFailureSeed: number | null = null

  constructor(log: SharedSyncLog, reconciler: ReconcilerFunction, hooks: FaultySharedSyncLogHooks) {
    this.sharedSyncLog = new FaultySharedSyncLog(log, hooks)
    const failing: ReconcilerFunction = (entries, options) => {
      const seed = this.reconcilerFailureSeed
      if (seed !== null) {
        const victim = entries.find((entry) => (hash(getObjectKey(entry.collection, entry.pk)) + seed) % 3 === 0)
        if (victim) {
          throw new Error(`simulated reconciler failure for ${getObjectKey(victim.collection, victim.pk)}`)
        }
      }
      return reconciler(entries, options)
    }
    // The wrapper asks for what the app's reconciler asks for.
    failing.reconcileLocalWrites = reconciler.reconcileLocalWrites
    failing.compactableHistory = reconciler.compactableHistory
    this.reconciler = failing
  }

  /** How many shared-log faults fired since the run started. */
  get logFaultsFired(): number {
    return this.sharedSyncLog.fired
  }

  arm(fault: SyncFault): void {
    this.sharedSyncLog.arm(sharedLogFaultOf(fault))
    this.reconcilerFailureSeed = fault.kind === 'reconcilerThrows' ? fault.seed : null
  }

  disarm(): void {
    this.sharedSyncLog.arm(null)
    this.reconcilerFailureSeed = null
  }
}

/** What the app does while a sync runs, when a fault says so. */
export interface ConcurrentApp {
  /** Creates an object in a synced collection (`writeDuring`). */
  write(seed: number, boundary: string): void
  /** Writes a batch to a collection that is not synced (`localBatchDuring`). */
  localBatch(seed: number, boundary: string): void
}

/**
 * The faults that strike at a sync's step boundaries (its events: stage
 * start, page stored, batch sent or integrated): the sync stops there, or the
 * app writes while it runs.
 */
export class BoundaryFaults {
  private boundary = 0
  private aborted = false

  constructor(
    private readonly fault: SyncFault,
    private readonly app: ConcurrentApp,
    private readonly onFired: () => void,
  ) {}

  /** Called at every event of the sync; throws a SimulatedFault where the sync is to stop. */
  reached(event: string): void {
    const here = this.boundary++
    const fault = this.fault
    if (fault.kind === 'abort' && here === fault.at && !this.aborted) {
      this.aborted = true
      this.onFired()
      throw new SimulatedFault(`sync aborted at its step ${here} (${event})`)
    }
    if (fault.kind === 'localBatchDuring' && here === fault.at) {
      this.onFired()
      this.app.localBatch(fault.seed, event)
    }
    if (fault.kind === 'writeDuring' && here === fault.at) {
      this.onFired()
      this.app.write(fault.seed, event)
    }
  }
}

/** A writer outside the app that puts entries the devices cannot use into the shared log: bad data, or a broken clock. */
export class RogueWriter {
  deviceId: DeviceId | null = null
  /** What it wrote, by (device, createdOn): every device must keep these aside. */
  readonly entries: Array<{ deviceId: DeviceId; createdOn: number }> = []

  constructor(
    private readonly log: SharedSyncLog,
    private readonly userId: UserId,
  ) {}

  /**
   * Writes bad entry `variant` (modulo BAD_ENTRY_VARIANTS) as the schedule's
   * step `index`. Variants 0 to 5 are unusable data; 6 to 9 usable data from a
   * broken clock (2^53, ten years ahead, negative, fractional).
   */
  async write(variant: number, index: number, now: number, collection: string, registry: StorageRegistry): Promise<string> {
    const deviceId = (this.deviceId ??= await this.log.createDeviceId({ userId: this.userId, now }))
    const kind = variant % BAD_ENTRY_VARIANTS
    const createdOn = [2 ** 53, (now + 10 * 365 * 24 * HOUR_MS) * 1000 + index, -1000 - index, now * 1000 + index + 0.5][kind - 6] ?? now * 1000 + index
    const data =
      [
        '{{ not json',
        JSON.stringify({ operation: 'create', collection: 'collectionFromTheFuture', pk: 'x', value: { a: 1 } }),
        JSON.stringify({ operation: 'upsert', collection, pk: 'x', value: {} }),
        JSON.stringify({ operation: 'create', collection, pk: { not: 'a pk' }, value: {} }),
        JSON.stringify({ operation: 'modify', collection, pk: 'x' }),
        '"just a string"',
      ][kind] ?? JSON.stringify({ operation: 'create', collection, pk: `rogue-${index}`, value: randomCreateValues(registry, collection, index) })
    await this.log.writeEntries([{ createdOn, data }], { userId: this.userId, deviceId, now })
    this.entries.push({ deviceId, createdOn })
    return `rogue entry ${createdOn}: ${data}`
  }
}
