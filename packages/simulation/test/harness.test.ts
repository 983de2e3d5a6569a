import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import {
  FaultySharedSyncLog,
  SimulatedFault,
  SimulationError,
  replaySeed,
  runSchedule,
  scheduleArbitrary,
  simulate,
  type Schedule,
} from '../src'

const twoDevices = (steps: Schedule['steps']): Schedule => ({
  devices: [
    { backend: 'indexeddb', skewMs: 0, driftPpm: 0 },
    { backend: 'sqlite', skewMs: -3_600_000, driftPpm: 20_000 },
  ],
  batchSize: 2,
  integrationBatchSize: 2,
  steps,
})

describe('the harness', () => {
  it('generates the same schedule for the same seed, and different ones for different seeds', () => {
    const arbitrary = scheduleArbitrary()
    const [a] = fc.sample(arbitrary, { seed: 42, numRuns: 1 })
    const [b] = fc.sample(arbitrary, { seed: 42, numRuns: 1 })
    const [c] = fc.sample(arbitrary, { seed: 43, numRuns: 1 })
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    expect(a!.devices).toHaveLength(3)
  })

  it('replays a seed to the same run', async () => {
    const first = await replaySeed(7)
    const again = await replaySeed(7)
    expect(again.schedule).toEqual(first.schedule)
    expect({ ...again.report.stats, durationMs: 0 }).toEqual({ ...first.report.stats, durationMs: 0 })
    expect(first.failure).toBeNull()
  })

  it('passes a hand-written schedule with every kind of step and fault', async () => {
    const report = await runSchedule(
      twoDevices([
        { op: 'create', device: 0, collection: 0, seed: 1 },
        { op: 'create', device: 0, collection: 0, seed: 2 },
        { op: 'batch', device: 1, collection: 1, seed: 3, size: 5 },
        { op: 'sync', device: 0, fault: { kind: 'failAfter', at: 0 } },
        { op: 'sync', device: 1, fault: { kind: 'duplicate', at: 0 } },
        { op: 'update', device: 1, collection: 0, pick: 0, seed: 4 },
        { op: 'clockJump', device: 1, ms: -7_200_000 },
        { op: 'update', device: 0, collection: 0, pick: 0, seed: 5 },
        { op: 'badEntry', variant: 0 },
        { op: 'badEntry', variant: 3 },
        { op: 'sync', device: 1, fault: { kind: 'abort', at: 3 } },
        { op: 'delete', device: 0, collection: 0, pick: 1 },
        { op: 'cleanup', device: 1 },
        { op: 'sync', device: 1, fault: { kind: 'duplicate', at: 0 } },
        { op: 'cleanup', device: 0 },
        { op: 'sync', device: 0, fault: { kind: 'reconcilerThrows', seed: 0 } },
        { op: 'recreate', device: 1, collection: 0, pick: 0, seed: 6 },
        { op: 'updateWhere', device: 1, collection: 1, seed: 7 },
        { op: 'deleteWhere', device: 0, collection: 1, seed: 8 },
        { op: 'tick', ms: 60_000 },
        { op: 'sync', device: 1, fault: { kind: 'writeDuring', at: 2, seed: 9 } },
        { op: 'sync', device: 0, fault: { kind: 'failBefore', at: 1 } },
      ]),
    )
    expect(report.violations).toEqual([])
    expect(report.stats.faultsFired).toBeGreaterThanOrEqual(4)
    expect(report.stats.quarantined).toBeGreaterThanOrEqual(4) // two rogue entries on each of two devices
    expect(report.stats.entries).toBeGreaterThan(5)
  })

  it('runs twenty devices', async () => {
    const summary = await simulate({ firstSeed: 20, count: 1, devices: 20, maxSteps: 30 })
    expect(summary.failures).toEqual([])
    expect(summary.syncs).toBeGreaterThanOrEqual(40) // the final rounds alone sync each device twice
  }, 120_000)

  it('catches a reconciler that ignores deletes, and shrinks the schedule', async () => {
    const ignoresDeletes: ReconcilerFunction = (entries, options) =>
      reconcileSyncLog(entries.filter((entry) => entry.operation !== 'delete'), options)
    const summary = await simulate({ firstSeed: 1, count: 30, reconciler: ignoresDeletes, shrinkTimeLimitMs: 60_000 })
    expect(summary.failures).toHaveLength(1)
    const [failure] = summary.failures
    expect(failure!.violations.join('\n')).toMatch(/\[(1|4)/)
    expect(failure!.minimalSchedule.steps.length).toBeLessThanOrEqual(failure!.schedule.steps.length)
    expect(failure!.minimalSchedule.steps.length).toBeLessThanOrEqual(6)
  }, 120_000)

  it('catches a shared log that loses entries', async () => {
    class LossyLog extends MemorySharedSyncLog {
      private writes = 0
      override async writeEntries(...args: Parameters<MemorySharedSyncLog['writeEntries']>) {
        this.writes += 1
        return this.writes % 3 === 0 ? undefined : super.writeEntries(...args)
      }
    }
    const summary = await simulate({ firstSeed: 1, count: 20, shrink: false, createSharedSyncLog: () => new LossyLog() })
    expect(summary.failures).toHaveLength(1)
    expect(summary.failures[0]!.violations.join('\n')).toMatch(/\[2 lost write\]|\[1 identical\]/)
  }, 60_000)

  it('checks at markAsSeen that a device stored what its cursor moves past', async () => {
    const inner = new MemorySharedSyncLog()
    const seen: unknown[] = []
    const log = new FaultySharedSyncLog(inner, { beforeMarkAsSeen: (deviceId, entries) => void seen.push([deviceId, entries.length]) })
    const writer = await log.createDeviceId({ userId: 'u' })
    const reader = await log.createDeviceId({ userId: 'u' })
    await log.writeEntries([{ createdOn: 1, data: '{}' }], { userId: 'u', deviceId: writer })
    log.arm({ kind: 'failAfter', call: 1 })
    const update = await log.getUnsyncedEntries({ userId: 'u', deviceId: reader })
    await expect(log.markAsSeen(update, { userId: 'u', deviceId: reader })).rejects.toBeInstanceOf(SimulatedFault)
    expect(seen).toEqual([[reader, 1]])
    // The lost response still moved the cursor.
    expect((await log.getUnsyncedEntries({ userId: 'u', deviceId: reader })).entries).toEqual([])
  })

  it('rejects schemas it cannot drive, saying what to change', async () => {
    await expect(
      runSchedule(twoDevices([]), { schema: { collections: { blob: { version: new Date(), fields: { data: { type: 'blob' as any } } } } } }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_SCHEMA' })
    await expect(runSchedule({ ...twoDevices([]), devices: [] })).rejects.toBeInstanceOf(SimulationError)
  })
})

describe('regressions found by the simulation', () => {
  it('seed 6 (first generator): a write during a sync on SQLite', async () => {
    const saved = JSON.parse(readFileSync(new URL('./regressions/seed-6-write-during-sync.json', import.meta.url), 'utf8'))
    const report = await runSchedule(saved.schedule)
    expect(report.violations).toEqual([])
    expect(report.stats.faultsFired).toBeGreaterThan(0)
  })

  it('three tabs of one device writing in one millisecond (before the stored clock: 6 of 11 writes never reached the other device)', async () => {
    const saved = JSON.parse(readFileSync(new URL('./regressions/tabs-in-one-millisecond.json', import.meta.url), 'utf8'))
    const report = await runSchedule(saved.schedule)
    expect(report.violations).toEqual([])
    expect(report.stats.entries).toBe(11)
  })
})
