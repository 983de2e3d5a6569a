import type { CollectionDefinition } from '@worldbrain/storex'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import type { SimulationBackendFactory } from './backends'
import { SimulationError } from './errors'
import type { ExpectedStateFunction } from './invariants'
import type { RunReport } from './run'
import type { SyncFault } from './schedule'
import { formatFailure, simulate, type SimulationFailure, type SimulationSummary } from './simulate'

export interface CheckReconcilerOptions {
  /** Your app's collection definitions, as for `registry.registerCollections()`. */
  collections: Record<string, CollectionDefinition>
  /** Which of them are synced (default: all). Each needs a single `auto-pk` pk field named by its pkIndex (default `id`). */
  syncedCollections?: string[]
  /** How many seeded random schedules to run. Default 100. */
  schedules?: number
  /** Seed of the first schedule (schedule i uses firstSeed + i). Default 1. */
  firstSeed?: number
  /** Devices per schedule, or a [min, max] range. Default 3. */
  devices?: number | [number, number]
  /** Most steps per schedule. Default 40. */
  maxSteps?: number
  /** Sync faults to inject. Default: all kinds. */
  faultKinds?: Array<Exclude<SyncFault['kind'], 'none'>>
  /** Backends to spread devices over. Default: IndexedDB (fake-indexeddb) and SQLite (better-sqlite3). */
  backends?: Record<string, SimulationBackendFactory>
  /**
   * What every device must end up holding, from the whole history. Default
   * `false`: only that the devices agree with each other (and nothing is lost
   * from the logs), since your reconciler decides what the data is.
   */
  expectedState?: ExpectedStateFunction | false
  /**
   * Include steps that call `deleteObsoleteEntries`. Default false: it drops
   * entries by the default rules, which a custom reconciler may still need.
   */
  cleanup?: boolean
  /** Shrink a failing schedule to a minimal one. Default true. */
  shrink?: boolean
  /** Most time (ms) to spend shrinking. Default 120000. */
  shrinkTimeLimitMs?: number
  /** Stop at the first failing schedule. Default true. */
  stopOnFailure?: boolean
  /** Called after every schedule. */
  onProgress?: (progress: { done: number; count: number; seed: number; failures: number; report: RunReport }) => void
}

export interface CheckReconcilerReport {
  /** True when every schedule converged. */
  ok: boolean
  /** The reconciler's function name (or 'reconciler'). */
  reconciler: string
  /** Whether it ran with reconcileLocalWrites (its flag). */
  reconcileLocalWrites: boolean
  /** Schedules run (fewer than asked when it stopped at a failure). */
  schedules: number
  passed: number
  /** Each with its seed, what broke, and the minimal schedule that still fails. */
  failures: SimulationFailure[]
  summary: SimulationSummary
  /** One readable paragraph: the verdict, and for a failure the seed, the violations and the minimal schedule. */
  message: string
}

/**
 * Runs your reconciler on your schema through the simulation: devices on
 * IndexedDB and SQLite with skewed clocks write, sync through a faulty shared
 * log, and must end with identical data. Returns a report; it does not throw
 * when the reconciler diverges (see `assertReconcilerConverges`).
 */
export async function checkReconciler(reconciler: ReconcilerFunction, options: CheckReconcilerOptions): Promise<CheckReconcilerReport> {
  if (typeof reconciler !== 'function') {
    throw new SimulationError('INVALID_OPTION', `checkReconciler() needs your reconciler function first, got ${typeof reconciler}.`)
  }
  if (!options || typeof options.collections !== 'object' || options.collections === null || !Object.keys(options.collections).length) {
    throw new SimulationError(
      'INVALID_OPTION',
      'checkReconciler() needs { collections }: your collection definitions, as passed to registry.registerCollections().',
    )
  }
  const schedules = options.schedules ?? 100
  if (!Number.isInteger(schedules) || schedules < 1) {
    throw new SimulationError('INVALID_OPTION', `schedules must be a positive whole number, got ${String(options.schedules)}.`)
  }
  const summary = await simulate({
    schema: {
      collections: options.collections,
      ...(options.syncedCollections ? { syncedCollections: options.syncedCollections } : {}),
    },
    reconciler,
    expectedState: options.expectedState ?? false,
    count: schedules,
    firstSeed: options.firstSeed ?? 1,
    cleanup: options.cleanup ?? false,
    ...(options.devices !== undefined ? { devices: options.devices } : {}),
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.faultKinds ? { faultKinds: options.faultKinds } : {}),
    ...(options.backends ? { backends: options.backends } : {}),
    ...(options.shrink !== undefined ? { shrink: options.shrink } : {}),
    ...(options.shrinkTimeLimitMs !== undefined ? { shrinkTimeLimitMs: options.shrinkTimeLimitMs } : {}),
    ...(options.stopOnFailure !== undefined ? { stopOnFailure: options.stopOnFailure } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  })
  const name = reconciler.name || 'reconciler'
  const reconcileLocalWrites = reconciler.reconcileLocalWrites === true
  const ok = summary.failures.length === 0
  const message = ok
    ? `${name} converged in all ${summary.count} schedules (seeds ${summary.firstSeed}-${summary.firstSeed + summary.count - 1}, ` +
      `${summary.syncs} syncs, ${summary.faultsFired} faults fired).`
    : [
        `${name} did not converge${reconcileLocalWrites ? '' : ' (it runs without reconcileLocalWrites: if it does not agree with applying local writes directly, set `reconciler.reconcileLocalWrites = true`)'}.`,
        formatFailure(summary.failures[0]!),
      ].join('\n')
  return {
    ok,
    reconciler: name,
    reconcileLocalWrites,
    schedules: summary.count,
    passed: summary.passed,
    failures: summary.failures,
    summary,
    message,
  }
}

/**
 * `checkReconciler` for tests: throws a SimulationError (code
 * `RECONCILER_DIVERGES`) whose message names the failing seed and prints the
 * minimal failing schedule; returns the report when all schedules converged.
 */
export async function assertReconcilerConverges(
  reconciler: ReconcilerFunction,
  options: CheckReconcilerOptions,
): Promise<CheckReconcilerReport> {
  const report = await checkReconciler(reconciler, options)
  if (!report.ok) {
    throw new SimulationError('RECONCILER_DIVERGES', report.message)
  }
  return report
}
