import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { catalogueCollections } from '@storex-sync/example-shop-catalogues'
import { assertReconcilerConverges, checkReconciler, runSchedule, type Schedule } from '@storex-sync/simulation'
import { deleteLosesToLaterEdit, lowestPriceWins } from '../src'

/** Schedules per reconciler: a small budget in the default test run; `pnpm check:reconcilers` runs 1,000. */
const SCHEDULES = Number(process.env.STOREX_SYNC_CHECK_SCHEDULES ?? 15)
const TIMEOUT = Math.max(120_000, SCHEDULES * 6_000)
/** Long runs print a line every 100 schedules to stderr. */
const onProgress =
  SCHEDULES >= 200
    ? ({ done, count, failures }: { done: number; count: number; failures: number }) => {
        if (done % 100 === 0) process.stderr.write(`${new Date().toISOString()} ${done}/${count} schedules, ${failures} failed\n`)
      }
    : undefined

/** The schema lowestPriceWins is written for (products with a price), and one collection it leaves to the default. */
const priceCollections = {
  product: {
    version: new Date('2024-01-01'),
    fields: { name: { type: 'string' as const }, price: { type: 'int' as const }, stock: { type: 'int' as const, optional: true } },
  },
  note: {
    version: new Date('2024-01-01'),
    fields: { text: { type: 'string' as const }, rank: { type: 'int' as const, optional: true } },
  },
}

describe('the custom reconcilers converge (checkReconciler)', () => {
  it('the reconciliation README shows exactly src/lowest-price.ts', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../packages/reconciliation/README.md', import.meta.url)), 'utf8')
    const source = readFileSync(fileURLToPath(new URL('../src/lowest-price.ts', import.meta.url)), 'utf8')
    const code = source.slice(source.indexOf('// --- README code ---\n') + 23, source.indexOf('// --- end ---'))
    expect(code.length).toBeGreaterThan(500)
    expect(readme).toContain('```ts\n' + code + '```')
  })

  it(`deleteLosesToLaterEdit on the shop catalogue: ${SCHEDULES} schedules`, async () => {
    expect(deleteLosesToLaterEdit.reconcileLocalWrites).toBe(true)
    const report = await assertReconcilerConverges(deleteLosesToLaterEdit, { collections: catalogueCollections, schedules: SCHEDULES, onProgress })
    expect(report.passed).toBe(SCHEDULES)
    console.log(report.message)
  }, TIMEOUT)

  it(`the README's lowestPriceWins: ${SCHEDULES} schedules`, async () => {
    expect(lowestPriceWins.reconcileLocalWrites).toBe(true)
    const report = await assertReconcilerConverges(lowestPriceWins, { collections: priceCollections, schedules: SCHEDULES, onProgress })
    expect(report.passed).toBe(SCHEDULES)
    console.log(report.message)
  }, TIMEOUT)

  it('catches lowestPriceWins without reconcileLocalWrites, with a minimal schedule', async () => {
    const withoutFlag: ReconcilerFunction = (entries, options) => lowestPriceWins(entries, options)
    const report = await checkReconciler(withoutFlag, {
      collections: priceCollections,
      syncedCollections: ['product'],
      schedules: 40,
      shrinkTimeLimitMs: 60_000,
    })
    expect(report.ok).toBe(false)
    expect(report.message).toContain('reconcileLocalWrites')
    expect(report.message).toMatch(/\[1 identical\]/)
    const failure = report.failures[0]!
    expect(failure.minimalSchedule.steps.length).toBeLessThanOrEqual(failure.schedule.steps.length)
    // The minimal schedule replays the divergence.
    const replay = await runSchedule(failure.minimalSchedule, {
      schema: { collections: priceCollections, syncedCollections: ['product'] },
      reconciler: withoutFlag,
      expectedState: false,
    })
    expect(replay.violations.join('\n')).toMatch(/hold different data/)
    await expect(assertReconcilerConverges(withoutFlag, { collections: priceCollections, syncedCollections: ['product'], schedules: 40, shrink: false })).rejects.toMatchObject({
      code: 'RECONCILER_DIVERGES',
    })
  }, 300_000)
})

/**
 * Found by checkReconciler before the logging fix: one executeBatch
 * [create, delete, update] of the same object (the simulation's batch step)
 * logged a modify that never happened, which this reconciler turns into the
 * object coming back on the other devices only.
 */
describe.each(['indexeddb', 'sqlite'])('regression: a batch that deletes then updates an object it created, on %s', (backend) => {
  it('leaves every device without the object', async () => {
    const schedule: Schedule = {
      devices: [0, 1, 2].map(() => ({ backend, skewMs: 0, driftPpm: 0, tabs: 1 })),
      batchSize: 1,
      integrationBatchSize: 1,
      steps: [
        { op: 'batch', device: 0, collection: 0, seed: 1168656997, size: 3, tab: 0 },
        { op: 'delete', device: 0, collection: 0, pick: 0, tab: 0 },
      ],
    }
    const lines: string[] = []
    const report = await runSchedule(schedule, { reconciler: deleteLosesToLaterEdit, expectedState: false, trace: (line) => lines.push(line) })
    expect(lines.join('\n')).toMatch(/batch on note: createObject\((d0-b1)\), deleteObjects\(\1\), updateObjects\(\1\)/)
    expect(report.violations).toEqual([])
  })
})

/**
 * Found by checkReconciler (seed 344 of 1,000, shrunk to 12 steps) while
 * deleteLosesToLaterEdit ran without reconcileLocalWrites: a product edited
 * on two devices, deleted, and edited again after the delete by a device
 * whose clock runs ahead. Its rewrite of the later edit took the fields of an
 * edit that arrived after it had been applied, so the default's diff started
 * from fields the database did not hold.
 */
describe.each(['indexeddb', 'sqlite'])('regression: seed 344 (a rewrite that depends on later entries), on %s', (backend) => {
  const schedule = (): Schedule => {
    const saved = JSON.parse(readFileSync(fileURLToPath(new URL('./seed-344.json', import.meta.url)), 'utf8')) as Schedule
    return { ...saved, devices: saved.devices.map((device) => ({ ...device, backend })) }
  }
  const run = (reconciler: ReconcilerFunction) =>
    runSchedule(schedule(), { schema: { collections: catalogueCollections }, reconciler, expectedState: false })

  it('converges with reconcileLocalWrites', async () => {
    expect((await run(deleteLosesToLaterEdit)).violations).toEqual([])
  })

  it('diverges without it (the check that found it)', async () => {
    const withoutFlag: ReconcilerFunction = (entries, options) => deleteLosesToLaterEdit(entries, options)
    expect((await run(withoutFlag)).violations.join('\n')).toMatch(/hold different data/)
  })
})

