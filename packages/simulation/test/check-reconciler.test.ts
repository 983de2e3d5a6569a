import { describe, expect, it } from 'vitest'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { assertReconcilerConverges, checkReconciler, defaultSimulationSchema, SimulationError } from '../src'

const collections = {
  todo: {
    version: new Date('2025-01-01'),
    fields: { text: { type: 'string' as const }, done: { type: 'boolean' as const }, rank: { type: 'int' as const, optional: true } },
  },
}

describe('checkReconciler', () => {
  it('reports a reconciler that converges, in both modes', async () => {
    const report = await checkReconciler(reconcileSyncLog as ReconcilerFunction, { collections, schedules: 4 })
    expect(report).toMatchObject({ ok: true, schedules: 4, passed: 4, failures: [], reconciler: 'reconcileSyncLog', reconcileLocalWrites: false })
    expect(report.summary.syncs).toBeGreaterThan(0)
    expect(report.message).toMatch(/converged in all 4 schedules/)

    const rewriting: ReconcilerFunction = (entries, options) => reconcileSyncLog(entries, options)
    rewriting.reconcileLocalWrites = true
    const rewritten = await assertReconcilerConverges(rewriting, {
      collections: defaultSimulationSchema.collections,
      syncedCollections: defaultSimulationSchema.syncedCollections,
      schedules: 4,
      firstSeed: 100,
    })
    expect(rewritten).toMatchObject({ ok: true, passed: 4, reconcileLocalWrites: true })
  }, 120_000)

  it('finds a reconciler that leaves devices apart, with a minimal schedule', async () => {
    // Applies nothing it receives: only the device that wrote an object has it.
    const ignoresOthers: ReconcilerFunction = () => []
    const report = await checkReconciler(ignoresOthers, { collections, schedules: 5, shrinkTimeLimitMs: 30_000 })
    expect(report.ok).toBe(false)
    // It stops at the first schedule that fails (one where a device receives a create).
    expect(report.schedules).toBeLessThanOrEqual(5)
    expect(report.failures).toHaveLength(1)
    const failure = report.failures[0]!
    expect(failure.minimalViolations.join('\n')).toMatch(/hold different data/)
    // A create and a sync of another device is all it takes.
    expect(failure.minimalSchedule.steps.length).toBeLessThanOrEqual(3)
    expect(report.message).toContain(`Simulation seed ${failure.seed}`)
    expect(report.message).toContain('Minimal schedule')

    const error = await assertReconcilerConverges(ignoresOthers, { collections, schedules: 5, shrink: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SimulationError)
    expect(error).toMatchObject({ code: 'RECONCILER_DIVERGES' })
    expect((error as Error).message).toMatch(/^@storex-sync\/simulation: ignoresOthers did not converge/)
  }, 120_000)

  it('says what is missing', async () => {
    await expect(checkReconciler(undefined as any, { collections })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(checkReconciler(reconcileSyncLog as ReconcilerFunction, {} as any)).rejects.toThrow(/needs \{ collections \}/)
    await expect(checkReconciler(reconcileSyncLog as ReconcilerFunction, { collections, schedules: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
  })
})
