import { describe, expect, it } from 'vitest'
import { runSchedule, simulate, type Schedule } from '../src'

// Issue 16: a shared log with a largest write, entries refused for good and
// entries refused until a server upgrade.
const withLimits = (publish: boolean, steps: Schedule['steps']): Schedule => ({
  devices: [
    { backend: 'indexeddb', skewMs: 0, driftPpm: 0 },
    { backend: 'sqlite', skewMs: 60_000, driftPpm: 0 },
  ],
  batchSize: 1000,
  integrationBatchSize: 500,
  limits: { maxWriteBytes: 1200, publish },
  steps,
})

describe('a shared log with limits', () => {
  it.each([true, false])('sets aside exactly the refused entries and those behind them, converges on the rest (limits published: %s)', async (publish) => {
    const report = await runSchedule(
      withLimits(publish, [
        { op: 'create', device: 0, collection: 0, seed: 1 },
        { op: 'refusedWrite', device: 0, collection: 0, pick: 0, kind: 0 }, // too large
        { op: 'refusedWrite', device: 0, collection: 0, pick: 2, kind: 1 }, // refused for good
        { op: 'refusedWrite', device: 0, collection: 0, pick: 4, kind: 2 }, // refused until the upgrade
        { op: 'batch', device: 0, collection: 0, seed: 9, size: 6 },
        { op: 'sync', device: 0, fault: { kind: 'none' } },
        { op: 'update', device: 0, collection: 0, pick: 1, seed: 3 },
        { op: 'refusedWrite', device: 1, collection: 1, pick: 1, kind: 1 },
        { op: 'sync', device: 1, fault: { kind: 'failBefore', at: 1 } },
        { op: 'sync', device: 0, fault: { kind: 'none' } },
        { op: 'sync', device: 1, fault: { kind: 'none' } },
        { op: 'retryOutgoing', device: 0 },
        { op: 'sync', device: 0, fault: { kind: 'abort', at: 2 } },
        { op: 'discardOutgoing', device: 1 },
        { op: 'serverUpgrade' },
        { op: 'retryOutgoing', device: 0 },
        { op: 'sync', device: 0, fault: { kind: 'none' } },
      ]),
    )
    expect(report.violations).toEqual([])
    expect(report.stats.outgoingQuarantined).toBeGreaterThanOrEqual(3)
  })

  it('a delete after a refused entry settles it: the refused entry is dropped, the delete sent', async () => {
    const report = await runSchedule(
      withLimits(true, [
        { op: 'refusedWrite', device: 0, collection: 0, pick: 0, kind: 1 },
        { op: 'sync', device: 0, fault: { kind: 'none' } },
        { op: 'delete', device: 0, collection: 0, pick: 0 },
        { op: 'sync', device: 0, fault: { kind: 'none' } },
        { op: 'refusedWrite', device: 1, collection: 1, pick: 0, kind: 0 },
        { op: 'update', device: 1, collection: 1, pick: 0, seed: 5 },
        { op: 'delete', device: 1, collection: 1, pick: 0 },
        { op: 'sync', device: 1, fault: { kind: 'none' } },
      ]),
    )
    expect(report.violations).toEqual([])
    expect(report.stats.outgoingSettled).toBe(3)
  })

  it('random schedules with limits keep every invariant and do meet refusals', async () => {
    const summary = await simulate({ firstSeed: 9001, count: 15 })
    expect(summary.failures.map((failure) => failure.violations)).toEqual([])
    expect(summary.outgoingQuarantined).toBeGreaterThan(0)
  }, 240_000)
})
