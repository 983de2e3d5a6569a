import { parseArgs } from 'node:util'
import { isSyncError } from '@storex-sync/errors'
import { compactAllUsers, type CompactionProgress } from './compaction'
import { openSharedSyncLog } from './open-log'
import { PostgresSharedSyncLog } from './postgres-log'
import { PostgresUserLock, noUserLock } from './postgres-lock'
import { DEFAULT_RETENTION_MS } from './replica-setup'

export const COMPACT_HELP = `storex-sync-server compact: one compaction pass of every user's log, now

Usage:
  storex-sync-server compact [--database <db>] [--replica-database <db>] [--retention <duration>]

Options:
  --database <db>          the server's database (default DATABASE_URL, else ./storex-sync.sqlite)
  --replica-database <db>  where the server keeps its replica, if not in --database
  --retention <duration>   devices silent for longer than this, with entries to read,
                           are retired (default 30d); e.g. 30d, 12h, 90m, 3600s
  -h, --help               show this text

Each user the replica knows is caught up, then its log loses the entries every
active device has read. A progress bar on a terminal, one line per user otherwise.
PostgreSQL: safe while servers run (a per-user lock). SQLite: stop the server
first, or let it compact on its own schedule (--compaction-interval).
`

/** `1 entry`, `3 entries`. */
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `30d`, `12h`, `90m`, `3600s`, `500ms`, or a number of ms. */
export function parseDuration(text: string, name: string, fail: (message: string) => Error): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim())
  if (!match) throw fail(`--${name}: "${text}" is not a duration; use e.g. 30d, 12h, 90m, 3600s or 500ms`)
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? 'ms').toLowerCase()]!)
}

/** A duration for humans: 30d, 1h, 90m, 1500ms. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', UNITS.d!], ['h', UNITS.h!], ['m', UNITS.m!], ['s', UNITS.s!]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

export interface CompactIo {
  out: (text: string) => void
  err: (line: string) => void
  /** Whether stdout is a terminal: a redrawn progress bar instead of lines. */
  isTTY: boolean
}

/** Runs `storex-sync-server compact`; resolves with the exit code. Usage errors throw `fail`'s error. */
export async function runCompactCommand(argv: string[], io: CompactIo, fail: (message: string) => Error): Promise<number> {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { database: { type: 'string' }, 'replica-database': { type: 'string' }, retention: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }))
  } catch (error) {
    throw fail((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
  if (values.help) {
    io.out(COMPACT_HELP)
    return 0
  }
  const retentionMs = values.retention === undefined ? DEFAULT_RETENTION_MS : parseDuration(values.retention as string, 'retention', fail)
  const database = (values.database as string | undefined) ?? process.env.DATABASE_URL ?? './storex-sync.sqlite'
  const replicaDatabase = values['replica-database'] as string | undefined
  const opened = await openSharedSyncLog({ database, replica: { database: replicaDatabase } })
  const lock = opened.sharedSyncLog instanceof PostgresSharedSyncLog ? new PostgresUserLock({ connectionString: opened.sharedSyncLog.connectionString }) : noUserLock
  try {
    io.out(`storex-sync-server compact | database: ${opened.description} | replica: ${opened.replica!.description} | retention: ${formatDuration(retentionMs)}\n`)
    const started = Date.now()
    const result = await compactAllUsers({
      replica: opened.replica!.replica,
      lock,
      retentionMs,
      onProgress: (progress) => io.out(io.isTTY ? progressBar(progress) : progressLine(progress)),
    })
    if (io.isTTY && result.users) io.out('\n')
    for (const failure of result.failures) {
      const message = isSyncError(failure.error) || failure.error instanceof Error ? (failure.error as Error).message : String(failure.error)
      io.err(`storex-sync-server compact: user ${failure.userId} failed (left as it was): ${message}`)
    }
    io.out(
      `compaction done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${count(result.users, 'user', 'users')}, ` +
        `${count(result.deletedEntries, 'entry', 'entries')} deleted, ${count(result.retiredDevices, 'device', 'devices')} retired, ${result.failures.length} failed\n`,
    )
    return result.failures.length ? 1 : 0
  } finally {
    await lock.close()
    await opened.close()
  }
}

function progressBar(progress: CompactionProgress): string {
  const width = 30
  const filled = progress.usersTotal ? Math.round((progress.usersDone / progress.usersTotal) * width) : width
  // \r and "erase to end of line": the bar is redrawn in place.
  return `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${progress.usersDone}/${progress.usersTotal} users | ${count(progress.deletedEntries, 'entry', 'entries')} deleted | ${count(progress.retiredDevices, 'device', 'devices')} retired\x1b[K`
}

function progressLine(progress: CompactionProgress): string {
  return `user ${progress.usersDone}/${progress.usersTotal} (${progress.userId}) done | ${count(progress.deletedEntries, 'entry', 'entries')} deleted so far | ${count(progress.retiredDevices, 'device', 'devices')} retired so far\n`
}
