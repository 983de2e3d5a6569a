import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import type { SimulationBackendFactory } from './backends'
import { runFinalRound } from './internal/final-round'
import stringify from './internal/stable-stringify'
import { runStep } from './internal/steps'
import { SimulationWorld } from './internal/world'
import { checkFinalState, readFinalState, type ExpectedStateFunction } from './invariants'
import { unexpectedError } from './invariants/unexpected-error'
import type { Schedule } from './schedule'
import type { SimulationSchema } from './schema'

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

import type { RunStats } from './stats'

export type { RunStats }

export interface RunReport {
  /** Broken invariants, each starting with the invariant's number; empty when the run passed. */
  violations: string[]
  stats: RunStats
}

/**
 * Runs one schedule on fresh devices, then a final round of fault-free syncs,
 * then checks the invariants (see src/invariants and the README):
 * 1. all devices hold identical data;
 * 2. no acknowledged write is lost;
 * 3. nothing is duplicated, nothing left pending;
 * 4. a deleted object stays deleted unless recreated later;
 * 5. a device's cursor never passes entries it has not stored (checked at
 *    every markAsSeen);
 * 6. with limits, the outgoing quarantines hold exactly what had to be;
 * 7. with a replica, the replica holds what the devices hold.
 * Unexpected errors (anything a sync throws that is not an injected fault,
 * any failing local write) are violations too. The run stops at the first
 * step that breaks something.
 */
export async function runSchedule(schedule: Schedule, options: RunScheduleOptions = {}): Promise<RunReport> {
  const started = Date.now()
  const world = await SimulationWorld.open(schedule, options)
  const { stats, violations, trace } = world
  try {
    for (const [index, spec] of schedule.devices.entries()) {
      await world.addDevice(spec, index)
    }
    for (const [index, step] of schedule.steps.entries()) {
      stats.steps += 1
      world.time.advance(100)
      const device = 'device' in step ? world.deviceAt(step.device) : null
      if (device && !device.joinedBy(index)) {
        trace?.(`#${index} ${device.name} ${stringify(step)} -> not joined yet`)
        continue
      }
      const outcome = await runStep(world, step, index).catch((error: unknown) => {
        violations.push(unexpectedError(`step ${index} (${stringify(step)}) threw`, error))
        return 'threw'
      })
      trace?.(`#${index} ${device ? `${device.name} ` : ''}${stringify(step)} -> ${outcome}`)
      if (violations.length) break
    }

    try {
      await runFinalRound(world)
      if (!violations.length) violations.push(...checkFinalState(await readFinalState(world)))
    } catch (error) {
      // Whatever the final rounds and checks throw is a finding, never a crash of the harness.
      violations.push(unexpectedError('the final round threw', error))
    }
    stats.entries = violations.length ? stats.entries : (await world.deviceAt(0).clientSyncLog.getEntries()).length
  } finally {
    await world.close()
    stats.durationMs = Date.now() - started
  }
  return { violations, stats }
}
