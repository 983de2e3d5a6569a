import fc from 'fast-check'
import { runSchedule, type RunReport, type RunScheduleOptions, type RunStats } from './run'
import { addRunStats, emptyRunStats } from './stats'
import { scheduleArbitrary, type Schedule, type ScheduleArbitraryOptions } from './schedule'

export interface SimulateOptions extends RunScheduleOptions, ScheduleArbitraryOptions {
  /** Seed of the first schedule; schedule i uses firstSeed + i. Default 1. */
  firstSeed?: number
  /** How many schedules. Default 100. */
  count?: number
  /** Shrink a failing schedule to a minimal one (slower on failure). Default true. */
  shrink?: boolean
  /** Most time (ms) to spend shrinking one failure. Default 120000. */
  shrinkTimeLimitMs?: number
  /** Stop at the first failing seed. Default true. */
  stopOnFailure?: boolean
  /** Called after every schedule. */
  onProgress?: (progress: { done: number; count: number; seed: number; failures: number; report: RunReport }) => void
}

export interface SimulationFailure {
  seed: number
  violations: string[]
  /** The schedule the seed generated. */
  schedule: Schedule
  /** The smallest schedule fast-check found that still fails (equals `schedule` without shrinking). */
  minimalSchedule: Schedule
  minimalViolations: string[]
}

/** The runs' stats summed up (`durationMs`: the whole simulation), with what passed and what failed. */
export interface SimulationSummary extends RunStats {
  firstSeed: number
  count: number
  passed: number
  failures: SimulationFailure[]
  msPerSchedule: number
}

/**
 * Generates the schedule of one seed, runs it and, when it breaks an
 * invariant, shrinks it. The same seed (with the same options) always gives
 * the same schedule, so a failure is replayed with its seed.
 */
export async function replaySeed(
  seed: number,
  options: Omit<SimulateOptions, 'firstSeed' | 'count'> = {},
): Promise<{ report: RunReport; schedule: Schedule; failure: SimulationFailure | null }> {
  const arbitrary = scheduleArbitrary({
    ...options,
    backendNames: options.backendNames ?? (options.backends ? Object.keys(options.backends) : undefined),
  })
  let first: { schedule: Schedule; report: RunReport } | null = null
  let lastFailing: { schedule: Schedule; report: RunReport } | null = null
  const runOptions: RunScheduleOptions = { ...options, trace: undefined }
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (schedule) => {
      const report = await runSchedule(schedule, first ? runOptions : { ...runOptions, trace: options.trace })
      first ??= { schedule, report }
      if (report.violations.length) {
        lastFailing = { schedule, report }
        return false
      }
      return true
    }),
    {
      seed,
      numRuns: 1,
      endOnFailure: options.shrink === false,
      interruptAfterTimeLimit: options.shrinkTimeLimitMs ?? 120_000,
      markInterruptAsFailure: false,
    },
  )
  const { schedule, report } = first!
  if (!report.violations.length) {
    return { report, schedule, failure: null }
  }
  const minimal = (details.counterexample?.[0] as Schedule | undefined) ?? (lastFailing as any)?.schedule ?? schedule
  const minimalReport = minimal === schedule ? report : await runSchedule(minimal, runOptions)
  return {
    report,
    schedule,
    failure: {
      seed,
      violations: report.violations,
      schedule,
      minimalSchedule: minimal,
      minimalViolations: minimalReport.violations.length ? minimalReport.violations : report.violations,
    },
  }
}

/** Runs `count` seeded schedules and sums them up; failures carry a minimal replayable schedule. */
export async function simulate(options: SimulateOptions = {}): Promise<SimulationSummary> {
  const firstSeed = options.firstSeed ?? 1
  const count = options.count ?? 100
  const started = Date.now()
  const summary: SimulationSummary = {
    firstSeed,
    count: 0,
    passed: 0,
    failures: [],
    ...emptyRunStats(),
    msPerSchedule: 0,
  }
  for (let index = 0; index < count; index += 1) {
    const seed = firstSeed + index
    const { report, failure } = await replaySeed(seed, options)
    summary.count += 1
    addRunStats(summary, { ...report.stats, durationMs: 0 })
    if (failure) {
      summary.failures.push(failure)
    } else {
      summary.passed += 1
    }
    options.onProgress?.({ done: index + 1, count, seed, failures: summary.failures.length, report })
    if (failure && options.stopOnFailure !== false) {
      break
    }
  }
  summary.durationMs = Date.now() - started
  summary.msPerSchedule = summary.count ? Math.round(summary.durationMs / summary.count) : 0
  return summary
}

/** A failure as a human reads it: the seed, how to replay it, what broke, and the minimal schedule. */
export function formatFailure(failure: SimulationFailure): string {
  return [
    `Simulation seed ${failure.seed} broke ${failure.violations.length} invariant check(s):`,
    ...failure.violations.slice(0, 20).map((line) => `  - ${line}`),
    `Replay: pnpm sim --seed ${failure.seed}`,
    `Minimal schedule (${failure.minimalSchedule.steps.length} of ${failure.schedule.steps.length} steps), which fails with:`,
    ...failure.minimalViolations.slice(0, 10).map((line) => `  - ${line}`),
    JSON.stringify(failure.minimalSchedule, null, 1),
  ].join('\n')
}
