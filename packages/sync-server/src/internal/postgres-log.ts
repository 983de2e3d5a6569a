import { randomBytes } from 'node:crypto'
import pg, { type PoolClient } from 'pg'
import {
  SharedSyncLogError,
  resolveNow,
  type DeviceId,
  type Now,
  type SharedSyncLog,
  type SharedSyncLogCompactionOptions,
  type SharedSyncLogCompactionResult,
  type SharedSyncLogDeviceInfo,
  type SharedSyncLogEntry,
  type SharedSyncLogEntryInput,
  type SharedSyncLogMemo,
  type SharedSyncLogUpdate,
  type UserId,
} from '@storex-sync/shared-sync-log-core'
import {
  createSequenceMemo,
  decideCompaction,
  readSequenceMemo,
  validateBatchSize,
  validateEntryInputs,
  validateRetention,
  validateUserId,
} from '@storex-sync/shared-sync-log-core/implement'
import { createPostgresSchema } from './postgres-schema'

export interface PostgresSharedSyncLogOptions {
  /** `postgres://user:password@host:port/database` */
  connectionString: string
  /** Prefix of the three tables this log creates (default `storex_sync_`). */
  tablePrefix?: string
  /** Connections in the pool (default 10). */
  poolSize?: number
  /** How long to wait for a connection, in ms (default 5000). */
  connectionTimeoutMs?: number
  /**
   * Told about connection errors the log survived (a dropped idle connection,
   * a connection terminated during a query; the next query opens a new one).
   * Default: ignored. The server passes its logger's `warn`.
   */
  onConnectionError?: (error: Error) => void
  /** `application_name` of the connections, as shown in `pg_stat_activity` (default `storex-sync-server`). */
  applicationName?: string
}

/** Most entries one transaction of `compact()` deletes. */
const DELETE_CHUNK = 10_000
/** A device's last activity; rows of releases before compaction have no active_at. */
const ACTIVE_AT = 'coalesce(active_at, shared_until, 0)'

/**
 * The shared sync log on PostgreSQL, written in SQL with `pg`.
 *
 * Each user has a row holding the last sequence number handed out. A write
 * locks that row (`SELECT ... FOR UPDATE`), numbers its entries after it and
 * commits; so a user's writes commit in sequence order and a reader never
 * sees sequence n+1 before n is committed: no gap a cursor could skip.
 * Different users never wait for each other.
 */
export class PostgresSharedSyncLog implements SharedSyncLog {
  private readonly pool: InstanceType<typeof pg.Pool>
  private closing: Promise<void> | undefined
  private readonly users: string
  private readonly devices: string
  private readonly entries: string

  private constructor(private readonly options: PostgresSharedSyncLogOptions) {
    const prefix = options.tablePrefix ?? 'storex_sync_'
    if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) {
      throw new SharedSyncLogError('INVALID_ARGUMENT', `tablePrefix must be lower-case letters, digits and underscores, got ${JSON.stringify(prefix)}`)
    }
    this.users = `${prefix}user`
    this.devices = `${prefix}device`
    this.entries = `${prefix}entry`
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
      application_name: options.applicationName ?? 'storex-sync-server',
    })
    this.onConnectionError = options.onConnectionError ?? (() => {})
    // An idle connection that the server drops must not crash the process;
    // the pool discards it and the next query opens a new one.
    this.pool.on('error', (error) => this.onConnectionError(error))
    // ... and so must one terminated while checked out, between queries or
    // inside `pool.query` (whose own listener catches only the first error).
    this.pool.on('connect', (client) => {
      client.on('error', (error) => this.onConnectionError(error))
    })
  }

  private readonly onConnectionError: (error: Error) => void

  /** The database this log is in (for a `PostgresNotifier` on the same database). */
  get connectionString(): string {
    return this.options.connectionString
  }

  /** The pool's counts, for metrics and readiness. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  /** Resolves when the database answers a query (for readiness checks). */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1')
  }

  /** Connects, creates the tables if they do not exist, and returns the log. */
  static async connect(options: PostgresSharedSyncLogOptions): Promise<PostgresSharedSyncLog> {
    const log = new PostgresSharedSyncLog(options)
    try {
      await log.createSchema()
    } catch (error) {
      await log.pool.end().catch(() => {})
      throw error
    }
    return log
  }

  async close(): Promise<void> {
    // pg's pool.end() throws when called twice; a log's close() may be.
    this.closing ??= this.pool.end()
    await this.closing
  }

  private async createSchema() {
    await this.transaction((client) => createPostgresSchema(client, { users: this.users, devices: this.devices, entries: this.entries }))
  }
  async createDeviceId(options: { userId: UserId; sharedUntil?: number | null; now?: Now }): Promise<DeviceId> {
    validateUserId(options.userId)
    const userKey = String(options.userId)
    return this.transaction(async (client) => {
      await client.query(`INSERT INTO ${this.users} (user_key) VALUES ($1) ON CONFLICT DO NOTHING`, [userKey])
      // A random id (not the serial): a new id tells nothing about how many devices the server has.
      const result = await client.query(
        `INSERT INTO ${this.devices} (id, user_key, shared_until, active_at) VALUES ($1, $2, $3, $4) RETURNING id`,
        [randomDeviceNumber(), userKey, options.sharedUntil ?? null, resolveNow(options.now)],
      )
      return Number(result.rows[0].id)
    })
  }

  async getDeviceInfo(options: { userId: UserId; deviceId: DeviceId }): Promise<SharedSyncLogDeviceInfo | null> {
    validateUserId(options.userId)
    const id = toDbId(options.deviceId)
    if (id === null) return null
    const result = await this.pool.query(
      `SELECT d.shared_until, d.seen_sequence < u.compacted_until AS behind FROM ${this.devices} d
       JOIN ${this.users} u ON u.user_key = d.user_key WHERE d.id = $1 AND d.user_key = $2`,
      [id, String(options.userId)],
    )
    if (!result.rows.length) return null
    const sharedUntil = result.rows[0].shared_until ?? null
    return result.rows[0].behind ? { sharedUntil, snapshotRequired: true } : { sharedUntil }
  }

  /**
   * Retires the user's devices silent for longer than `retentionMs` with
   * entries left to read, and deletes the entries every other device has read
   * (`decideCompaction()`). The new `compacted_until` commits under the
   * user's row lock (so it is ordered with the user's writes); the entries
   * below it are then deleted 10,000 per transaction without holding that
   * lock: nothing is ever written there again, and a reader behind it gets
   * `SNAPSHOT_REQUIRED`. A compaction interrupted while deleting leaves rows
   * the next one deletes.
   */
  async compact(options: SharedSyncLogCompactionOptions): Promise<SharedSyncLogCompactionResult> {
    validateUserId(options.userId)
    validateRetention(options.retentionMs)
    const now = resolveNow(options.now)
    const userKey = String(options.userId)
    const decided = await this.transaction(async (client) => {
      const user = await client.query(`SELECT compacted_until, last_sequence FROM ${this.users} WHERE user_key = $1 FOR UPDATE`, [userKey])
      if (!user.rows.length) return null
      const compactedUntil = Number(user.rows[0].compacted_until)
      const devices = await client.query(`SELECT id, seen_sequence, ${ACTIVE_AT} AS active_at FROM ${this.devices} WHERE user_key = $1`, [userKey])
      const decision = decideCompaction(
        devices.rows.map((row: any) => ({ deviceId: Number(row.id), seenUntil: Number(row.seen_sequence), activeAt: Number(row.active_at) })),
        { compactedUntil, lastSequence: Number(user.rows[0].last_sequence), retentionMs: options.retentionMs, now },
      )
      if (decision.compactUntil > compactedUntil) {
        await client.query(`UPDATE ${this.users} SET compacted_until = $1 WHERE user_key = $2`, [decision.compactUntil, userKey])
      }
      return { ...decision, compactedUntil }
    })
    if (!decided) return { deletedEntries: 0, retiredDevices: [], remainingEntries: 0 }
    let deletedEntries = 0
    for (let to = decided.compactedUntil; to < decided.compactUntil; ) {
      to = Math.min(to + DELETE_CHUNK, decided.compactUntil)
      // No lower bound: rows an interrupted compaction left go too.
      const deleted = await this.pool.query(`DELETE FROM ${this.entries} WHERE user_key = $1 AND sequence <= $2`, [userKey, to])
      deletedEntries += deleted.rowCount ?? 0
    }
    const left = await this.pool.query(`SELECT count(*) AS n FROM ${this.entries} WHERE user_key = $1`, [userKey])
    return { deletedEntries, retiredDevices: decided.retiredDevices, remainingEntries: Number(left.rows[0].n) }
  }

  async writeEntries(
    entries: Array<SharedSyncLogEntryInput>,
    options: { userId: UserId; deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  ): Promise<void> {
    validateUserId(options.userId)
    validateEntryInputs(entries)
    const userKey = String(options.userId)
    const id = toDbId(options.deviceId)
    if (id === null) throw SharedSyncLogError.unknownDevice(options.deviceId)
    entries.forEach((entry, index) => {
      if (entry.data.includes('\u0000')) {
        // PostgreSQL text cannot hold NUL; refuse it as a client mistake rather than fail in the database.
        throw new SharedSyncLogError('INVALID_ARGUMENT', `entry ${index} has data with the NUL character (U+0000), which PostgreSQL cannot store; escape it (JSON.stringify does)`)
      }
    })
    const sharedOn = resolveNow(options.now)
    const extra = options.extraSentInfo === undefined ? null : JSON.stringify(options.extraSentInfo)
    await this.transaction(async (client) => {
      // The device row proves ownership (a writing device is active); the user row is the lock that orders this user's writes.
      const device = await client.query(
        `UPDATE ${this.devices} SET active_at = GREATEST(${ACTIVE_AT}, $3) WHERE id = $1 AND user_key = $2 RETURNING 1`,
        [id, userKey, sharedOn],
      )
      if (!device.rows.length) throw SharedSyncLogError.unknownDevice(options.deviceId)
      if (!entries.length) return
      const locked = await client.query(`SELECT last_sequence FROM ${this.users} WHERE user_key = $1 FOR UPDATE`, [userKey])
      let sequence = Number(locked.rows[0].last_sequence)
      const existing = await client.query(
        `SELECT created_on FROM ${this.entries} WHERE device_id = $1 AND created_on = ANY($2::float8[])`,
        [id, entries.map((entry) => entry.createdOn)],
      )
      const seen = new Set<number>(existing.rows.map((row: any) => Number(row.created_on)))
      const sequences: number[] = []
      const createdOns: number[] = []
      const datas: string[] = []
      for (const entry of entries) {
        if (seen.has(entry.createdOn)) continue // already stored: a retried write
        seen.add(entry.createdOn)
        sequences.push(++sequence)
        createdOns.push(entry.createdOn)
        datas.push(entry.data)
      }
      if (!sequences.length) return
      await client.query(
        `INSERT INTO ${this.entries} (user_key, sequence, device_id, created_on, shared_on, data, extra_sent_info)
         SELECT $1, s, $2, c, $3, d, $4 FROM unnest($5::bigint[], $6::float8[], $7::text[]) AS t(s, c, d)`,
        [userKey, id, sharedOn, extra, sequences, createdOns, datas],
      )
      await client.query(`UPDATE ${this.users} SET last_sequence = $1 WHERE user_key = $2`, [sequence, userKey])
    })
  }

  async getUnsyncedEntries(options: { userId: UserId; deviceId: DeviceId; batchSize?: number }): Promise<SharedSyncLogUpdate> {
    validateUserId(options.userId)
    validateBatchSize(options.batchSize)
    const userKey = String(options.userId)
    const id = toDbId(options.deviceId)
    if (id === null) throw SharedSyncLogError.unknownDevice(options.deviceId)
    // One snapshot for all reads, so the memo never passes an entry this read did not see.
    return this.transaction(
      async (client) => {
        const device = await client.query(
          `SELECT d.seen_sequence, u.compacted_until, u.last_sequence FROM ${this.devices} d
           JOIN ${this.users} u ON u.user_key = d.user_key WHERE d.id = $1 AND d.user_key = $2`,
          [id, userKey],
        )
        if (!device.rows.length) throw SharedSyncLogError.unknownDevice(options.deviceId)
        const cursor = Number(device.rows[0].seen_sequence)
        if (cursor < Number(device.rows[0].compacted_until)) throw SharedSyncLogError.snapshotRequired(options.deviceId)
        const limit = options.batchSize ?? null
        const result = await client.query(
          `SELECT sequence, device_id, created_on, shared_on, data, extra_sent_info FROM ${this.entries}
           WHERE user_key = $1 AND sequence > $2 AND device_id <> $3 ORDER BY sequence LIMIT $4`,
          [userKey, cursor, id, limit === null ? null : limit + 1],
        )
        const hasMore = limit !== null && result.rows.length > limit
        const rows = hasMore ? result.rows.slice(0, limit!) : result.rows
        let end = rows.length ? Number(rows[rows.length - 1].sequence) : cursor
        if (!hasMore) {
          // Skip past this device's own entries too, so the next read starts after them.
          const own = await client.query(
            `SELECT max(sequence) AS top FROM ${this.entries} WHERE user_key = $1 AND device_id = $2 AND sequence > $3`,
            [userKey, id, end],
          )
          if (own.rows[0].top !== null) end = Math.max(end, Number(own.rows[0].top))
        }
        let remaining = 0
        if (hasMore) {
          // Sequences are gapless: everything after the page, minus this device's own entries there.
          const own = await client.query(`SELECT count(*) AS n FROM ${this.entries} WHERE device_id = $1 AND sequence > $2`, [id, end])
          remaining = Math.max(0, Number(device.rows[0].last_sequence) - end - Number(own.rows[0].n))
        }
        const entries = rows.map((row: any): SharedSyncLogEntry => {
          const entry: SharedSyncLogEntry = {
            userId: options.userId,
            deviceId: Number(row.device_id),
            createdOn: Number(row.created_on),
            sharedOn: Number(row.shared_on),
            data: row.data,
          }
          if (row.extra_sent_info !== null) entry.extraSentInfo = JSON.parse(row.extra_sent_info)
          return entry
        })
        return { entries, memo: createSequenceMemo(end), hasMore, remaining }
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    )
  }

  async markAsSeen(update: { memo: SharedSyncLogMemo }, options: { userId: UserId; deviceId: DeviceId; now?: Now }): Promise<void> {
    validateUserId(options.userId)
    const userKey = String(options.userId)
    const id = toDbId(options.deviceId)
    if (id === null) throw SharedSyncLogError.unknownDevice(options.deviceId)
    const exists = await this.pool.query(`SELECT 1 FROM ${this.devices} WHERE id = $1 AND user_key = $2`, [id, userKey])
    if (!exists.rows.length) throw SharedSyncLogError.unknownDevice(options.deviceId)
    const sequence = readSequenceMemo(update?.memo)
    const result = await this.pool.query(
      `UPDATE ${this.devices} d SET seen_sequence = GREATEST(d.seen_sequence, $1), shared_until = $2,
         active_at = GREATEST(coalesce(d.active_at, d.shared_until, 0), $2)
       FROM ${this.users} u
       WHERE d.id = $3 AND d.user_key = $4 AND u.user_key = d.user_key AND u.last_sequence >= $1`,
      [sequence, resolveNow(options.now), id, userKey],
    )
    if (result.rowCount === 0) throw SharedSyncLogError.invalidMemo(update.memo)
  }

  /** What a user stores: devices, entries and bytes of entry data (for quotas). */
  async usage(userId: UserId): Promise<{ devices: number; entries: number; bytes: number }> {
    const userKey = String(userId)
    const [devices, entries] = await Promise.all([
      this.pool.query(`SELECT count(*) AS n FROM ${this.devices} WHERE user_key = $1`, [userKey]),
      this.pool.query(`SELECT count(*) AS n, coalesce(sum(octet_length(data)), 0) AS bytes FROM ${this.entries} WHERE user_key = $1`, [userKey]),
    ])
    return { devices: Number(devices.rows[0].n), entries: Number(entries.rows[0].n), bytes: Number(entries.rows[0].bytes) }
  }

  private async transaction<T>(run: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const client = await this.pool.connect()
    let broken = false
    // A checked-out connection has no listener of the pool's: without this one,
    // a connection terminated mid-transaction would crash the process.
    const onError = (error: Error) => {
      broken = true
      this.onConnectionError(error)
    }
    client.on('error', onError)
    try {
      await client.query(begin)
      const result = await run(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      try {
        await client.query('ROLLBACK')
      } catch {
        broken = true
      }
      throw error
    } finally {
      client.removeListener('error', onError)
      client.release(broken)
    }
  }
}

/** Device ids are bigserial numbers; anything else cannot name a device. */
function toDbId(deviceId: unknown): number | null {
  if (typeof deviceId === 'number' && Number.isSafeInteger(deviceId) && deviceId > 0) return deviceId
  if (typeof deviceId === 'string' && /^[1-9][0-9]{0,15}$/.test(deviceId)) {
    const value = Number(deviceId)
    return Number.isSafeInteger(value) ? value : null
  }
  return null
}

/** A random positive safe integer of at least 2^40: unguessable, still a JSON number and a bigint. */
function randomDeviceNumber(): number {
  const bytes = randomBytes(7)
  bytes[0]! &= 0x1f // 53 bits
  const value = Number(Buffer.concat([Buffer.alloc(1), bytes]).readBigUInt64BE())
  return value < 2 ** 40 ? value + 2 ** 40 : value
}
