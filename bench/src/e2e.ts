import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildParams, ChildResultA, ChildResultB } from './child'
import { runBundledChild } from './spawn'
import { countChanges } from './workload'

function runChild<T>(params: ChildParams): Promise<T> {
  return runBundledChild<T>('child.ts', params, { dir: params.dir, name: params.role, describe: `device ${params.role} (${params.engine}, N=${params.n})` })
}

export interface E2eResult {
  engine: 'ours' | 'original'
  /** Where B's database is. */
  bBackend: 'sqlite' | 'postgres'
  n: number
  deletes: boolean
  batchSize: number
  changes: ReturnType<typeof countChanges>
  a: { writeMs: number; shareMs: number; entries: number }
  b: Omit<ChildResultB, 'role'>
  /** B's receive + integrate. */
  bTotalMs: number
  entriesPerSecond: number
  /** B's receive + integrate per received entry, microseconds. */
  perEntryUs: number
}

/** One end-to-end sync: A's process writes and shares, then B's process receives and integrates. */
export async function runE2e(options: {
  engine: 'ours' | 'original'
  n: number
  deletes: boolean
  batchSize: number
  /** B's database on PostgreSQL (an empty database at this URL) instead of an SQLite file. */
  bPostgresUrl?: string
}): Promise<E2eResult> {
  const dir = mkdtempSync(join(tmpdir(), `storex-sync-bench-${options.engine}-`))
  try {
    const common = { engine: options.engine, n: options.n, updates: true, deletes: options.deletes, batchSize: options.batchSize, dir }
    const a = await runChild<ChildResultA>({ ...common, role: 'a' })
    const { role: _role, ...b } = await runChild<ChildResultB>({
      ...common,
      role: 'b',
      deviceId: a.bDeviceId,
      ...(options.bPostgresUrl ? { bPostgresUrl: options.bPostgresUrl } : {}),
    })
    const changes = countChanges({ ...common })
    const bTotalMs = b.receiveMs + b.integrateMs
    return {
      engine: options.engine,
      bBackend: options.bPostgresUrl ? 'postgres' : 'sqlite',
      n: options.n,
      deletes: options.deletes,
      batchSize: options.batchSize,
      changes,
      a: { writeMs: a.writeMs, shareMs: a.shareMs, entries: a.entries },
      b,
      bTotalMs,
      entriesPerSecond: (changes.total / bTotalMs) * 1000,
      perEntryUs: (bTotalMs * 1000) / changes.total,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
