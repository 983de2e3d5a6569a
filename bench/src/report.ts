import { cpus, totalmem, freemem, arch, platform, release } from 'node:os'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { E2eResult } from './e2e'
import type { OverheadOperation, OverheadSample } from './overhead'
import type { IdbE2eResult } from './idb-sync'
import type { ReconcilerResult } from './reconciler'
import type { BootstrapReport } from './bootstrap'
import { checkBootstrapTargets, renderBootstrapSection } from './bootstrap-report'

export interface BenchParameters {
  sizes: number[]
  compareSizes: number[]
  overheadN: number
  overheadBackends: Array<'sqlite' | 'indexeddb'>
  rounds: number
  batchSize: number
  reconcilerObjects: number
  original: boolean
  /** N of the end-to-end runs on IndexedDB (fake-indexeddb, both devices in the bench process). */
  idbSizes: number[]
  /** Storex backends for them: 'ours' (@storex-sync/storex-backend-dexie), 'legacy' (@worldbrain/storex-backend-dexie 0.3.1). */
  idbBackends: Array<'ours' | 'legacy'>
  /** N of the runs with B's database on PostgreSQL (skipped when no server answers). */
  postgresSizes: number[]
  /** Issue 13 (snapshot bootstrap, compaction): 1 = 100k live objects, 1M entries; 0 skips it. */
  bootstrapScale: number
  /** Show the joining devices' progress (issue 13). */
  progress?: boolean
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
  /** End-to-end sync on IndexedDB beside raw writes of the same rows. */
  idb: IdbE2eResult[]
  /** Issue 13: the cloud as a device (null when skipped). */
  bootstrap: BootstrapReport | null
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
    '@storex-sync/storex-backend-dexie',
    'dexie',
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
  targets.push(...checkIdbTargets(report.idb.filter((row) => row.backend === OUR_IDB_BACKEND), 'fake-indexeddb'))
  targets.push(...checkBootstrapTargets(report.bootstrap ?? null))
  return targets
}

export const OUR_IDB_BACKEND = '@storex-sync/storex-backend-dexie'

/** Issue 15's targets for one environment (fake-indexeddb or Chromium): flat per-entry cost 1k to 10k, within 3x of raw writes. */
export function checkIdbTargets(rows: IdbE2eResult[], where: string): TargetCheck[] {
  const small = rows.find((row) => row.n === 1000)
  const large = rows.find((row) => row.n === 10_000)
  const growth = small && large
    ? { aShare: large.perEntryUs.aShare / small.perEntryUs.aShare, bTotal: large.perEntryUs.bTotal / small.perEntryUs.bTotal }
    : null
  return [
    {
      name: `IndexedDB (${where}): per-entry cost at 10k vs 1k, A share / B receive+integrate`,
      target: '<= 1.5x each',
      measured: growth ? `${fmt(growth.aShare)}x / ${fmt(growth.bTotal)}x` : 'n/a',
      status: growth ? (growth.aShare <= 1.5 && growth.bTotal <= 1.5 ? 'met' : 'missed') : 'not measured',
    },
    {
      name: `IndexedDB (${where}): A share / B receive+integrate vs raw writes of the same rows, 10k`,
      target: '<= 3x each',
      measured: large ? `${fmt(large.ratioToRaw.aShare)}x / ${fmt(large.ratioToRaw.bTotal)}x` : 'n/a',
      status: large ? (large.ratioToRaw.aShare <= 3 && large.ratioToRaw.bTotal <= 3 ? 'met' : 'missed') : 'not measured',
    },
  ]
}

/** The IndexedDB rows as a Markdown table, with each backend's per-entry growth from its smallest to its largest N. */
export function renderIdbTable(rows: IdbE2eResult[]): string {
  const lines = [
    table(
      ['backend', 'N', 'entries', 'A writes s', 'A share s', 'B receive s', 'B integrate s', 'raw writes s (before, after)', 'A share µs/entry', 'B µs/entry', 'raw µs/entry', 'A share / raw', 'B / raw'],
      rows.map((row) => [
        row.backend,
        String(row.n),
        String(row.changes.total),
        fmt(row.aWriteMs / 1000, 2),
        fmt(row.aShareMs / 1000, 2),
        fmt(row.bReceiveMs / 1000, 2),
        fmt(row.bIntegrateMs / 1000, 2),
        `${fmt(row.raw.ms / 1000, 2)} (${fmt(row.raw.beforeMs / 1000, 2)}, ${fmt(row.raw.afterMs / 1000, 2)})`,
        fmt(row.perEntryUs.aShare, 0),
        fmt(row.perEntryUs.bTotal, 0),
        fmt(row.perEntryUs.raw, 0),
        `${fmt(row.ratioToRaw.aShare)}x`,
        `${fmt(row.ratioToRaw.bTotal)}x`,
      ]),
    ),
  ]
  for (const backend of new Set(rows.map((row) => row.backend))) {
    const own = rows.filter((row) => row.backend === backend).sort((a, b) => a.n - b.n)
    const first = own[0]
    const last = own.at(-1)
    if (first && last && first !== last) {
      lines.push(
        `${backend}: per-entry cost at ${last.n} vs ${first.n}: A share ${fmt(last.perEntryUs.aShare / first.perEntryUs.aShare)}x, ` +
          `B receive+integrate ${fmt(last.perEntryUs.bTotal / first.perEntryUs.bTotal)}x, raw writes ${fmt(last.perEntryUs.raw / first.perEntryUs.raw)}x`,
      )
    }
  }
  return lines.join('\n\n')
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
  parts.push('### 6. End-to-end sync on IndexedDB (fake-indexeddb; both devices and the raw writes in the bench process, one after the other)')
  parts.push(report.idb.length ? renderIdbTable(report.idb) : 'Not run (--idb-sizes= empty).')
  parts.push(renderBootstrapSection(report.bootstrap ?? null))
  parts.push('### Targets')
  parts.push(table(['target', 'wanted', 'measured', 'status'], report.targets.map((t) => [t.name, t.target, t.measured, t.status])))
  return parts.join('\n\n') + '\n'
}
