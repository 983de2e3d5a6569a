import { describe, expect, it } from 'vitest'
import { runBench } from '../src/bench'
import { renderMarkdown } from '../src/report'

// The CI smoke of `pnpm bench`: every workload at N = 200, once, to keep the
// benchmark working. It checks the report's structure and that the run
// completed; it never asserts timings (those are for the report's targets).
describe('pnpm bench smoke (N = 200)', () => {
  it('runs every workload and reports on each', async () => {
    const lines: string[] = []
    const report = await runBench(
      {
        sizes: [200],
        compareSizes: [200],
        overheadN: 20,
        overheadBackends: ['sqlite', 'indexeddb'],
        rounds: 1,
        batchSize: 100,
        reconcilerObjects: 300,
        original: true,
        idbSizes: [200],
        idbBackends: ['ours', 'legacy'],
        // B on PostgreSQL at N = 200 when a server answers (skipped with a printed line otherwise).
        postgresSizes: [200],
        // Issue 13's benchmark has a test of its own (bootstrap.test.ts).
        bootstrapScale: 0,
      },
      (line) => lines.push(line),
    )
    expect(report.completed).toBe(true)
    expect(report.originalUnavailable).toBeUndefined()
    expect(report.machine).toMatchObject({ cores: expect.any(Number), node: process.version })
    expect(report.versions['@worldbrain/storex-sync']).toBe('0.1.1')
    expect(report.overhead.summary.map((row) => `${row.backend}/${row.engine}`).sort()).toEqual([
      'indexeddb/original',
      'indexeddb/ours',
      'indexeddb/raw',
      'sqlite/original',
      'sqlite/ours',
      'sqlite/raw',
    ])
    for (const row of report.overhead.summary) {
      expect(row.msPerOp.create).toBeGreaterThan(0)
      expect(row.ratioToRaw.create).toBeGreaterThan(0)
    }
    const full = report.e2e.find((row) => row.engine === 'ours' && row.deletes)!
    expect(full.changes).toEqual({ creates: 200, updates: 100, deletes: 20, total: 320 })
    expect(full.b.entriesReceived).toBe(320)
    expect(full.b.objects).toBe(180)
    expect(full.b.maxRssBytes).toBeGreaterThan(full.b.peakHeapUsedBytes)
    expect(full.b.retainedHeapUsedBytes).toBeGreaterThan(0)
    expect(report.comparison).toHaveLength(1)
    expect(report.comparison[0]!.original.b.objects).toBe(200)
    expect(report.comparison[0]!.oursToOriginal.total).toBeGreaterThan(0)
    expect(report.reconciler!.entries).toBeGreaterThan(300)
    expect(report.idb.map((row) => [row.backend, row.n, row.changes.total, row.raw.logRows, row.raw.objects])).toEqual([
      ['@storex-sync/storex-backend-dexie', 200, 320, 320, 180],
      ['@worldbrain/storex-backend-dexie 0.3.1', 200, 320, 320, 180],
    ])
    for (const row of report.idb) {
      expect(row.aShareMs).toBeGreaterThan(0)
      expect(row.bIntegrateMs).toBeGreaterThan(0)
      expect(row.ratioToRaw.bTotal).toBeGreaterThan(0)
    }
    expect(report.targets).toHaveLength(14)
    for (const target of report.targets) {
      expect(target.status).toMatch(/^(met|missed|not measured)$/)
    }
    // At N = 200 there are no 10k/100k runs and no 10k comparison to judge.
    const byName = (part: string) => report.targets.find((target) => target.name.includes(part))!.status
    expect(byName('on SQLite, 10k')).toBe('not measured')
    expect(byName('Sharing 100k')).toBe('not measured')
    expect(byName('vs the original')).toBe('not measured')
    expect(report.bootstrap).toBeNull()
    expect(byName('snapshot vs replay')).toBe('not measured')
    const onPostgres = report.e2e.find((row) => row.bBackend === 'postgres')
    if (onPostgres) {
      expect(onPostgres.b.objects).toBe(180)
      expect(byName('on PostgreSQL')).toMatch(/^(met|missed)$/)
    } else {
      expect(lines.some((line) => line.includes('B on PostgreSQL skipped'))).toBe(true)
    }
    expect(lines.some((line) => line.startsWith('e2e ours N=200:'))).toBe(true)
    const markdown = renderMarkdown(report)
    expect(markdown).toContain('### Targets')
    expect(markdown).toContain('### 6. End-to-end sync on IndexedDB')
    expect(markdown).toContain(String(report.machine.cpu))
  }, 120_000)
})
