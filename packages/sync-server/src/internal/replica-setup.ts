import type { SharedSyncLog, UserId } from '@storex-sync/shared-sync-log-core'
import type { SyncReplica } from '@storex-sync/replica'
import { SyncServerError } from '../errors'
import type { UserLock } from './postgres-lock'

const DAY = 24 * 60 * 60 * 1000
/** How long a silent device keeps its place in the log (default of `replica.retentionMs` and `--retention`). */
export const DEFAULT_RETENTION_MS = 30 * DAY
/** How often the server compacts every user's log (default of `replica.compactionIntervalMs` and `--compaction-interval`). */
export const DEFAULT_COMPACTION_INTERVAL_MS = 60 * 60 * 1000

/** `createSyncServer({ replica })`: a per-user replica of the users' data beside the log. */
export interface ServerReplicaOptions {
  /**
   * Where the replica's collections live: an SQLite file path or a
   * `postgres://` URL. Default: the log's database (the same SQLite file,
   * through the log's own storage manager; the same PostgreSQL database).
   */
  database?: string
  /** A replica you made yourself (its `sharedSyncLog` must be the log this server exposes); `database` is then ignored. */
  instance?: SyncReplica
  /** Devices silent for longer than this (ms) with entries to read are retired at compaction (default 30 days). */
  retentionMs?: number
  /** Compact every user's log this often (ms; default 1 hour); 0 or false: never (run `storex-sync-server compact` from cron instead). */
  compactionIntervalMs?: number | false
  /** Entries the replica reads per page while catching up (default 1000). */
  batchSize?: number
  /** Most users whose replica catches up at the same time after writes (default 2). */
  maxConcurrentCatchUps?: number
}

export interface OpenedReplica {
  replica: SyncReplica
  /** For status lines: where the replica's data is. */
  description: string
  close(): Promise<void>
}

/** Makes the replica module (not yet registered) over `storageManager`. */
export async function createReplicaModule(storageManager: unknown, sharedSyncLog: SharedSyncLog, batchSize?: number): Promise<SyncReplica> {
  const { SyncReplica } = await import('@storex-sync/replica')
  return new SyncReplica({ storageManager: storageManager as never, sharedSyncLog, ...(batchSize !== undefined ? { batchSize } : {}) })
}

/**
 * Opens a replica whose collections live in a database of their own: a
 * `postgres://` URL (through @storex-sync/storex-backend-sql; tables are
 * created if missing) or an SQLite file.
 */
export async function openReplicaDatabase(database: string, sharedSyncLog: SharedSyncLog, options: { batchSize?: number; describe: (database: string) => string }): Promise<OpenedReplica> {
  const isPostgres = /^postgres(ql)?:\/\//i.test(database)
  const [{ StorageManager }, sql, { registerModuleMapCollections }] = await Promise.all([
    import('@storex-sync/storex-glue'),
    import('@storex-sync/storex-backend-sql'),
    import('@worldbrain/storex-pattern-modules'),
  ])
  let backend: Awaited<ReturnType<typeof sql.openSqliteBackend>>
  try {
    backend = isPostgres
      ? await sql.openPostgresBackend({ connectionString: database, autoPkType: 'string', max: 4 })
      : await sql.openSqliteBackend({ filename: database.replace(/^sqlite:/i, ''), autoPkType: 'string' })
  } catch (cause) {
    throw new SyncServerError('DATABASE_UNREACHABLE', `cannot open the replica's database ${options.describe(database)} (${(cause as Error)?.message}); check --replica-database.`, { cause })
  }
  try {
    const storageManager = new StorageManager({ backend })
    const replica = await createReplicaModule(storageManager, sharedSyncLog, options.batchSize)
    registerModuleMapCollections(storageManager.registry, { replica })
    await storageManager.finishInitialization()
    await backend.migrate()
    return { replica, description: options.describe(database), close: () => backend.close() }
  } catch (cause) {
    await backend.close().catch(() => {})
    throw new SyncServerError('DATABASE_UNREACHABLE', `cannot set up the replica in ${options.describe(database)} (${(cause as Error)?.message}); check the database user may create tables there.`, { cause })
  }
}

/**
 * Keeps the replica caught up after writes, without holding up the write's
 * answer: one catch-up per user at a time (a write during a catch-up runs
 * another one after it), at most `concurrency` users at once. A failed
 * catch-up is reported and simply happens again at the user's next write (or
 * snapshot, or compaction): the replica reads the log from its own cursor,
 * so nothing is lost.
 */
export class ReplicaFollower {
  private readonly waiting = new Map<string, UserId>()
  private readonly running = new Set<string>()
  private idleWaiters: Array<() => void> = []
  private closed = false

  constructor(
    private readonly replica: SyncReplica,
    private readonly lock: UserLock,
    private readonly options: { concurrency?: number; onError: (userId: UserId, error: unknown) => void; onCaughtUp?: (userId: UserId) => void },
  ) {}

  /** A write of this user was accepted. */
  notify(userId: UserId): void {
    if (this.closed) return
    this.waiting.set(String(userId), userId)
    this.pump()
  }

  /** Resolves when no catch-up runs or waits. */
  idle(): Promise<void> {
    if (!this.running.size && !this.waiting.size) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Takes no more work and waits for what runs (the waiting ones happen at the next start). */
  async close(): Promise<void> {
    this.closed = true
    this.waiting.clear()
    await this.idle()
  }

  private pump(): void {
    for (const [userKey, userId] of this.waiting) {
      if (this.running.size >= (this.options.concurrency ?? 2)) break
      if (this.running.has(userKey)) continue
      this.waiting.delete(userKey)
      this.running.add(userKey)
      this.lock
        .run(userKey, () => this.replica.catchUp(userId))
        .then(
          () => this.options.onCaughtUp?.(userId),
          (error) => this.options.onError(userId, error),
        )
        .finally(() => {
          this.running.delete(userKey)
          if (!this.closed) this.pump()
          if (!this.running.size && (this.closed || !this.waiting.size)) {
            const waiters = this.idleWaiters
            this.idleWaiters = []
            for (const resolve of waiters) resolve()
          }
        })
    }
  }
}
