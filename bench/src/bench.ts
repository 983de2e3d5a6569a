import { runE2e, type E2eResult } from './e2e'
import { measureOverhead, type OverheadEngine, type OverheadSample } from './overhead'
import { nodeIdbEnvironment } from './idb-node'
import { runIdbE2e, type IdbE2eResult } from './idb-sync'
import { measureReconciler } from './reconciler'
import { runBootstrapBench, type BootstrapReport } from './bootstrap'
import { checkTargets, fmt, machineInfo, packageVersions, summarizeOverhead, type BenchParameters, type BenchReport } from './report'
import { loadOriginal } from './setup'

export const defaultParameters: BenchParameters = {
  sizes: [1000, 10_000, 100_000],
  compareSizes: [1000, 10_000],
  overheadN: 1000,
  overheadBackends: ['sqlite', 'indexeddb'],
  rounds: 3,
  batchSize: 1000,
  reconcilerObjects: 20_000,
  original: true,
  idbSizes: [1000, 10_000],
  idbBackends: ['ours'],
  postgresSizes: [10_000],
  bootstrapScale: 1,
}

/** Runs every workload and returns the report; `log` gets one progress line per step. */
export async function runBench(parameters: BenchParameters, log: (line: string) => void = console.log): Promise<BenchReport> {
  const started = Date.now()
  let originalUnavailable: string | undefined
  if (parameters.original) {
    try {
      loadOriginal()
    } catch (error) {
      originalUnavailable = `@worldbrain/storex-sync could not be loaded: ${(error as Error).message}`
      log(`! ${originalUnavailable}`)
    }
  } else {
    originalUnavailable = 'skipped (--no-original)'
  }
  const withOriginal = !originalUnavailable

  // 1. Logging overhead, engines alternating within each round (order rotated per round).
  const samples: OverheadSample[] = []
  const engines: OverheadEngine[] = withOriginal ? ['raw', 'ours', 'original'] : ['raw', 'ours']
  for (const backend of parameters.overheadBackends) {
    // Warm-up (discarded): the first engine in a process would otherwise pay for JIT compilation.
    for (const engine of engines) {
      await measureOverhead(backend, engine, Math.min(200, parameters.overheadN), -1)
    }
    for (let round = 0; round < parameters.rounds; round += 1) {
      const order = engines.map((_, index) => engines[(index + round) % engines.length]!)
      for (const engine of order) {
        const sample = await measureOverhead(backend, engine, parameters.overheadN, round)
        samples.push(sample)
        log(
          `overhead ${backend} ${engine.padEnd(8)} round ${round + 1}/${parameters.rounds}: create ${fmt(sample.msPerOp.create, 3)} ms, update ${fmt(sample.msPerOp.update, 3)} ms, delete ${fmt(sample.msPerOp.delete, 3)} ms`,
        )
      }
    }
  }

  // 2./3. End-to-end with the full mix (creates, updates of half, deletes of a tenth).
  const e2e: E2eResult[] = []
  const describe = (row: E2eResult) =>
    `e2e ${row.engine}${row.bBackend === 'postgres' ? ' (B on PostgreSQL)' : ''}${row.deletes ? '' : ' (no deletes)'} N=${row.n}: A share ${fmt(row.a.shareMs / 1000)} s, B receive ${fmt(row.b.receiveMs / 1000)} s + integrate ${fmt(row.b.integrateMs / 1000)} s = ${fmt(row.entriesPerSecond, 0)} entries/s, ${fmt(row.perEntryUs, 0)} µs/entry, B peak RSS ${(row.b.maxRssBytes / 2 ** 20).toFixed(0)} MB`
  for (const n of parameters.sizes) {
    log(`e2e ours N=${n} ...`)
    const row = await runE2e({ engine: 'ours', n, deletes: true, batchSize: parameters.batchSize })
    e2e.push(row)
    log(describe(row))
  }

  // 2b. B's database on PostgreSQL (a database of its own, dropped afterwards), if a server answers.
  if (parameters.postgresSizes.length) {
    const serverUrl = process.env['STOREX_SYNC_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
    const { default: pg } = await import('pg')
    const admin = async (statement: string) => {
      const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 })
      await client.connect()
      try {
        await client.query(statement)
      } finally {
        await client.end()
      }
    }
    let available = true
    try {
      await admin('select 1')
    } catch (error) {
      available = false
      log(`! e2e with B on PostgreSQL skipped: no server at ${serverUrl} (${(error as Error).message})`)
    }
    for (const n of available ? parameters.postgresSizes : []) {
      const name = `storex_sync_bench_${process.pid}_${n}`
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await admin(`CREATE DATABASE "${name}"`)
      const url = new URL(serverUrl)
      url.pathname = `/${name}`
      try {
        log(`e2e ours (B on PostgreSQL) N=${n} ...`)
        const row = await runE2e({ engine: 'ours', n, deletes: true, batchSize: parameters.batchSize, bPostgresUrl: url.toString() })
        e2e.push(row)
        log(describe(row))
      } finally {
        await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      }
    }
  }

  // 5. Side by side with the original on what it has (no deletes), alternating who goes first.
  const comparison: BenchReport['comparison'] = []
  if (withOriginal) {
    for (const [index, n] of parameters.compareSizes.entries()) {
      const order: Array<'ours' | 'original'> = index % 2 === 0 ? ['original', 'ours'] : ['ours', 'original']
      const rows: Partial<Record<'ours' | 'original', E2eResult>> = {}
      for (const engine of order) {
        log(`e2e ${engine} (no deletes) N=${n} ...`)
        const row = await runE2e({ engine, n, deletes: false, batchSize: parameters.batchSize })
        rows[engine] = row
        e2e.push(row)
        log(describe(row))
      }
      const ours = rows.ours!
      const original = rows.original!
      comparison.push({
        n,
        ours,
        original,
        oursToOriginal: {
          aShare: ours.a.shareMs / original.a.shareMs,
          bReceive: ours.b.receiveMs / original.b.receiveMs,
          bIntegrate: ours.b.integrateMs / original.b.integrateMs,
          total: (ours.a.shareMs + ours.bTotalMs) / (original.a.shareMs + original.bTotalMs),
        },
      })
      log(`compare N=${n}: ours/original = ${fmt(comparison.at(-1)!.oursToOriginal.total, 3)}`)
    }
  }

  // 6. End-to-end on IndexedDB (fake-indexeddb), beside raw writes of the same rows.
  const idb: IdbE2eResult[] = []
  for (const backend of parameters.idbBackends) {
    if (parameters.idbSizes.length) {
      // Warm-up (discarded): the first run in a process would otherwise pay for JIT compilation.
      await runIdbE2e(nodeIdbEnvironment(backend), { n: 200, batchSize: parameters.batchSize })
    }
    for (const n of parameters.idbSizes) {
      log(`e2e IndexedDB ${backend} N=${n} ...`)
      const row = await runIdbE2e(nodeIdbEnvironment(backend), { n, batchSize: parameters.batchSize, log })
      idb.push(row)
      log(
        `e2e IndexedDB ${backend} N=${n}: A share ${fmt(row.aShareMs / 1000)} s, B receive+integrate ${fmt((row.bReceiveMs + row.bIntegrateMs) / 1000)} s, raw ${fmt(row.raw.ms / 1000)} s; ` +
          `${fmt(row.ratioToRaw.aShare)}x / ${fmt(row.ratioToRaw.bTotal)}x raw`,
      )
    }
  }

  // 7. Issue 13: a new device joins by snapshot and by replay; compaction.
  let bootstrap: BootstrapReport | null = null
  if (parameters.bootstrapScale > 0) {
    bootstrap = await runBootstrapBench({ scale: parameters.bootstrapScale, batchSize: parameters.batchSize, progress: parameters.progress ?? true }, log)
  }

  // 4. The reconciler alone.
  const reconciler = parameters.reconcilerObjects > 0 ? await measureReconciler(parameters.reconcilerObjects) : null
  if (reconciler) log(`reconciler: ${fmt(reconciler.entriesPerSecond, 0)} entries/s`)

  const scalingRows = e2e.filter((row) => row.engine === 'ours' && row.deletes && row.bBackend === 'sqlite').map((row) => ({ n: row.n, perEntryUs: row.perEntryUs }))
  const smallest = scalingRows[0]
  const largest = scalingRows.at(-1)
  const partial = {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    completed: true,
    machine: machineInfo(),
    versions: packageVersions(),
    parameters,
    overhead: { samples, summary: summarizeOverhead(samples) },
    e2e,
    scaling: {
      perEntryUs: scalingRows,
      largestToSmallest: smallest && largest && largest !== smallest ? largest.perEntryUs / smallest.perEntryUs : null,
    },
    reconciler,
    comparison,
    idb,
    bootstrap,
    ...(originalUnavailable ? { originalUnavailable } : {}),
  }
  return { ...partial, targets: checkTargets(partial) }
}
