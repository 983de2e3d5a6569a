import { cpus, totalmem, freemem, arch, platform, release } from 'node:os'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { E2eResult } from './e2e'
import type { OverheadOperation, OverheadSample } from './overhead'
import type { ReconcilerResult } from './reconciler'

export interface BenchParameters {
  sizes: number[]
  compareSizes: number[]
  overheadN: number
  overheadBackends: Array<'sqlite' | 'indexeddb'>
  rounds: number
  batchSize: number
  reconcilerObjects: number
  original: boolean
  /** N of the runs with B's database on PostgreSQL (skipped when no server answers). */
  postgresSizes: number[]
}

export interface TargetCheck {
  name: string
  target: string
  measured: string
  status: 'met' | 'missed' | 'not measured'
}

export interface BenchReport {
  startedAt: string
  durationMs: number
  completed: boolean
  machine: Record<string, unknown>
  versions: Record<string, string>
  parameters: BenchParameters
  overhead: {
    samples: OverheadSample[]
    /** Best (lowest) ms/op per backend and engine, then ratios against raw. */
    summary: Array<{ backend: string; engine: string; msPerOp: Record<OverheadOperation, number>; ratioToRaw: Record<OverheadOperation, number> }>
  }
  e2e: E2eResult[]
  scaling: { perEntryUs: Array<{ n: number; perEntryUs: number }>; largestToSmallest: number | null }
  reconciler: ReconcilerResult | null
  comparison: Array<{ n: number; ours: E2eResult; original: E2eResult; oursToOriginal: { aShare: number; bReceive: number; bIntegrate: number; total: number } }>
  originalUnavailable?: string
  targets: TargetCheck[]
}

const require = createRequire(import.meta.url)
function versionOf(name: string): string {
  try {
    return require(`${name}/package.json`).version
  } catch {
    // Packages whose exports map hides package.json: read it from bench's node_modules.
    try {
      return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
    } catch {
      return 'unknown'
    }
  }
}

export function machineInfo() {
  const cpu = cpus()
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    platform: `${platform()} ${release()} ${arch()}`,
    node: process.version,
  }
}

export function packageVersions() {
  const names = [
    '@storex-sync/client-sync-log',
    '@storex-sync/custom-pk',
    '@storex-sync/logging-middleware',
    '@storex-sync/reconciliation',
    '@storex-sync/shared-sync-log-storex',
    '@storex-sync/sync-orchestrator',
    '@worldbrain/storex',
    '@worldbrain/storex-backend-typeorm',
    '@storex-sync/storex-backend-sql',
    'kysely',
    '@worldbrain/storex-backend-dexie',
    '@worldbrain/storex-sync',
    'better-sqlite3',
    'fake-indexeddb',
  ]
  return Object.fromEntries(names.map((name) => [name, versionOf(name)]))
}

export function summarizeOverhead(samples: OverheadSample[]): BenchReport['overhead']['summary'] {
  const operations: OverheadOperation[] = ['create', 'update', 'delete']
  const best = new Map<string, OverheadSample['msPerOp']>()
  for (const sample of samples) {
    const key = `${sample.backend}|${sample.engine}`
    const current = best.get(key)
    best.set(
      key,
      current ? (Object.fromEntries(operations.map((op) => [op, Math.min(current[op], sample.msPerOp[op])])) as any) : { ...sample.msPerOp },
    )
  }
  return [...best].map(([key, msPerOp]) => {
    const [backend, engine] = key.split('|') as [string, string]
    const raw = best.get(`${backend}|raw`)!
    return {
      backend,
      engine,
      msPerOp,
      ratioToRaw: Object.fromEntries(operations.map((op) => [op, msPerOp[op] / raw[op]])) as Record<OverheadOperation, number>,
    }
  })
}

const MB = 1024 * 1024
export const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`

export function checkTargets(report: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const targets: TargetCheck[] = []
  const sqliteOurs = report.overhead.summary.find((row) => row.backend === 'sqlite' && row.engine === 'ours')
  targets.push({
    name: 'Logging overhead, creates on SQLite (both through storex-backend-sql)',
    target: '<= 1.5x raw',
    measured: sqliteOurs ? `${fmt(sqliteOurs.ratioToRaw.create)}x` : 'n/a',
    status: sqliteOurs ? (sqliteOurs.ratioToRaw.create <= 1.5 ? 'met' : 'missed') : 'not measured',
  })
  const ours = report.e2e.filter((row) => row.engine === 'ours' && row.deletes && (row.bBackend ?? 'sqlite') === 'sqlite')
  for (const n of [10_000, 100_000]) {
    const row = ours.find((candidate) => candidate.n === n)
    targets.push({
      name: `B receives + integrates on SQLite, ${n / 1000}k changes`,
      target: '>= 20000 entries/s',
      measured: row ? `${fmt(row.entriesPerSecond, 0)} entries/s` : 'n/a',
      status: row ? (row.entriesPerSecond >= 20_000 ? 'met' : 'missed') : 'not measured',
    })
  }
  const onPostgres = report.e2e.filter((row) => row.engine === 'ours' && row.bBackend === 'postgres')
  const pgRow = onPostgres.find((row) => row.n === 10_000) ?? onPostgres[0]
  targets.push({
    name: `B receives + integrates on PostgreSQL${pgRow ? `, ${pgRow.n / 1000}k changes` : ''}`,
    target: '>= 10000 entries/s',
    measured: pgRow ? `${fmt(pgRow.entriesPerSecond, 0)} entries/s` : 'n/a',
    status: pgRow ? (pgRow.entriesPerSecond >= 10_000 ? 'met' : 'missed') : 'not measured',
  })
  const large = ours.find((row) => row.n === 100_000)
  targets.push({
    name: 'Sharing 100k changes on SQLite (A share)',
    target: '< 5 s',
    measured: large ? `${fmt(large.a.shareMs / 1000)} s` : 'n/a',
    status: large ? (large.a.shareMs < 5000 ? 'met' : 'missed') : 'not measured',
  })
  targets.push({
    name: "B's peak RSS receiving 100k (batch 1000)",
    target: '< 200 MB',
    measured: large ? mb(large.b.maxRssBytes) : 'n/a',
    status: large ? (large.b.maxRssBytes < 200 * MB ? 'met' : 'missed') : 'not measured',
  })
  const at10k = report.comparison.find((row) => row.n === 10_000)
  targets.push({
    name: 'End-to-end sync of 10k changes vs the original on its stock backend',
    target: '>= 20x faster',
    measured: at10k ? `${fmt(1 / at10k.oursToOriginal.total, 1)}x faster` : 'n/a',
    status: at10k ? (1 / at10k.oursToOriginal.total >= 20 ? 'met' : 'missed') : 'not measured',
  })
  const small = ours.find((row) => row.n === 1000)
  targets.push({
    name: 'Per-entry receive+integrate cost, 100k vs 1k',
    target: '<= 1.5x',
    measured: small && large ? `${fmt(large.perEntryUs / small.perEntryUs)}x` : 'n/a',
    status: small && large ? (large.perEntryUs / small.perEntryUs <= 1.5 ? 'met' : 'missed') : 'not measured',
  })
  return targets
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => row[index]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(' | ')} |`
  return [line(header), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rows.map(line)].join('\n')
}

/** The report as Markdown tables (printed at the end of a run, and the body of RESULTS.md). */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine as any
  const parts: string[] = []
  parts.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${(m.memoryBytes / 1024 ** 3).toFixed(0)} GiB, ${m.platform}, Node ${m.node}. ` +
      `Run ${report.startedAt}, ${(report.durationMs / 60000).toFixed(1)} min.`,
  )
  parts.push(`Parameters: ${JSON.stringify(report.parameters)}`)
  parts.push('### 1. Logging overhead (ms per operation, best of rounds; ratio to raw Storex)')
  parts.push(
    table(
      ['backend', 'engine', 'create', 'update', 'delete', 'create x', 'update x', 'delete x'],
      report.overhead.summary.map((row) => [
        row.backend,
        row.engine,
        fmt(row.msPerOp.create, 3),
        fmt(row.msPerOp.update, 3),
        fmt(row.msPerOp.delete, 3),
        fmt(row.ratioToRaw.create),
        fmt(row.ratioToRaw.update),
        row.engine === 'original' ? `${fmt(row.ratioToRaw.delete)} (not logged)` : fmt(row.ratioToRaw.delete),
      ]),
    ),
  )
  parts.push('### 2./3. End-to-end sync (SQLite files; B in its own process)')
  parts.push(
    table(
      ['engine', 'N', 'entries', 'A writes s', 'A share s', 'B receive s', 'B integrate s', 'B entries/s', 'B µs/entry', 'B peak RSS', 'B peak heap', 'B heap after GC', 'B RSS before'],
      report.e2e.map((row) => [
        row.engine + (row.bBackend === 'postgres' ? ' (B on PostgreSQL)' : '') + (row.deletes ? '' : ' (no deletes)'),
        String(row.n),
        String(row.changes.total),
        fmt(row.a.writeMs / 1000, 1),
        fmt(row.a.shareMs / 1000, 2),
        fmt(row.b.receiveMs / 1000, 2),
        fmt(row.b.integrateMs / 1000, 2),
        fmt(row.entriesPerSecond, 0),
        fmt(row.perEntryUs, 0),
        mb(row.b.maxRssBytes),
        mb(row.b.peakHeapUsedBytes),
        row.b.retainedHeapUsedBytes === undefined ? 'n/a' : mb(row.b.retainedHeapUsedBytes),
        mb(row.b.baselineRssBytes),
      ]),
    ),
  )
  if (report.scaling.largestToSmallest !== null) {
    parts.push(
      `Scaling: per-entry cost ${report.scaling.perEntryUs.map((row) => `${row.n}: ${fmt(row.perEntryUs, 0)} µs`).join(', ')}; largest/smallest = ${fmt(report.scaling.largestToSmallest)}x`,
    )
  }
  if (report.reconciler) {
    const r = report.reconciler
    parts.push(
      `### 4. Reconciler alone\n${r.entries} entries on ${r.objects} objects (batches of 500) in ${fmt(r.ms, 0)} ms: ${fmt(r.entriesPerSecond, 0)} entries/s, ${r.operations} operations`,
    )
  }
  parts.push('### 5. Against @worldbrain/storex-sync 0.1.1 (creates + updates of half: it does not log deletes; ours/original, lower is better)')
  if (report.originalUnavailable) {
    parts.push(`Not run: ${report.originalUnavailable}`)
  } else {
    parts.push(
      table(
        ['N', 'entries', 'ours total s', 'original total s', 'A share', 'B receive', 'B integrate', 'total', 'ours faster by'],
        report.comparison.map((row) => [
          String(row.n),
          String(row.ours.changes.total),
          fmt((row.ours.a.shareMs + row.ours.bTotalMs) / 1000, 2),
          fmt((row.original.a.shareMs + row.original.bTotalMs) / 1000, 2),
          fmt(row.oursToOriginal.aShare, 3),
          fmt(row.oursToOriginal.bReceive, 3),
          fmt(row.oursToOriginal.bIntegrate, 3),
          fmt(row.oursToOriginal.total, 3),
          `${fmt(1 / row.oursToOriginal.total, 1)}x`,
        ]),
      ),
    )
  }
  parts.push('### Targets')
  parts.push(table(['target', 'wanted', 'measured', 'status'], report.targets.map((t) => [t.name, t.target, t.measured, t.status])))
  return parts.join('\n\n') + '\n'
}
