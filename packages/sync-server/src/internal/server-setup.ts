import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { DeviceId, SharedSyncLog, SharedSyncLogUpdate, UserId } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'
import { DEFAULT_INPUT_LIMITS, findTextProblem, installJsonParser, jsonBytes, yieldToOthers, type InputLimits } from './input'
import { MemoryNotifier, PostgresNotifier, registerLiveRoute, type ChangeNotifier } from './live'
import { openSharedSyncLog, redactUrl } from './open-log'
import {
  QuotaTracker,
  installCors,
  installHealth,
  installMetrics,
  installRateLimits,
  type CorsOptions,
  type QuotaOptions,
  type RateLimitOptions,
  type SyncObserver,
  type UserUsage,
} from './operations'
import { PostgresSharedSyncLog } from './postgres-log'
import { PostgresUserLock, noUserLock } from './postgres-lock'
import { attachReplica } from './replica-server'
import { openReplicaDatabase, type ServerReplicaOptions } from './replica-setup'
import type { SyncReplica } from '@storex-sync/replica'
import type { CompactionPassResult } from './compaction'
import { isServerErrorCode } from '@storex-sync/shared-sync-log-http'
import { AnsweredError, sendError } from './answer'

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's replica (`replica` option / `--replica`), or null. Read a user's data with `syncReplica.getObjects()`. */
    syncReplica: SyncReplica | null
    /** Resolves when the replica has caught up with every accepted write (no catch-up runs or waits). */
    syncReplicaIdle(): Promise<void>
    /** Runs one compaction pass of every user the replica knows, now (throws without a replica). */
    syncCompact(): Promise<CompactionPassResult>
  }
}


/** The options `syncServerPlugin` takes beyond the log and the authenticator (hardening, live updates, quotas, metrics). */
export interface SyncServerPluginExtras {
  /** Bounds on nesting depth and `extraSentInfo` size (defaults: 32 levels, 16 KiB). */
  inputLimits?: Partial<InputLimits>
  /**
   * Where writes are announced to the live streams (`POST /v1/events`).
   * Default: within this process. `createSyncServer` on PostgreSQL uses a
   * `PostgresNotifier`, so every server process on the database hears every write.
   */
  notifier?: ChangeNotifier
  /** Live streams: heartbeat comment interval in ms (default 20000). */
  liveHeartbeatMs?: number
  /** Live streams: most open per user (default 32). */
  maxStreamsPerUser?: number
  /** Live streams end after this long, in ms (default 30 minutes): the client reconnects, and its token is checked again. */
  maxStreamMs?: number
  /** Largest read answer in bytes of entry data (default 8 MiB): a page that would be larger is cut to fewer entries. */
  maxReadBytes?: number
  /** Per-user quotas (devices, entries, bytes), checked before creating devices and writing. */
  quotas?: QuotaOptions
  /** Told about entries written and delivered, devices created, live streams (metrics). */
  observer?: SyncObserver
}

/** The options `createSyncServer` takes beyond the plugin's. */
export interface CreateSyncServerExtras {
  /** Time to receive a whole request, in ms (default 10000); a stalled body then gets 408. */
  requestTimeoutMs?: number
  /** On `close()`, how long in-flight requests may finish before their connections are cut, in ms (default 3000). */
  closeGraceMs?: number
  /** Behind a reverse proxy: Fastify's `trustProxy` (e.g. `'loopback'`), so `request.ip` (rate limits, logs) is the client's. */
  trustProxy?: boolean | string | number
  /** Readiness check of the database for /readyz (default: the log's own, where it has one). */
  ping?: () => Promise<void>
  /** Allow browser apps on these origins (CORS). Default: none (same-origin only). */
  cors?: CorsOptions
  /** Rate limits per address and per user (defaults 1200 and 600 a minute); `false` turns them off. */
  rateLimit?: RateLimitOptions | false
  /** Prometheus metrics at /metrics (default on, without token); `false` turns them off. */
  metrics?: { token?: string } | false
  /** Per-user quotas; `usage` defaults to the database's counts (PostgreSQL: devices, entries, bytes; SQLite: devices, entries). */
  quotas?: Omit<QuotaOptions, 'usage'> & { usage?: QuotaOptions['usage'] }
  /**
   * Keep a per-user replica of the users' data (`@storex-sync/replica`):
   * `POST /v1/snapshot` serves it, writes are integrated as they are
   * accepted, and the log is compacted on a schedule. `true` for the
   * defaults (the replica in the log's database, 30 days of retention,
   * compaction every hour).
   */
  replica?: boolean | ServerReplicaOptions
}

/**
 * Inside the sync plugin: the UTF-8/depth-checking JSON parser, the text and
 * size checks of every body, the live route; returns the log the routes use,
 * wrapped with quotas, change notifications, byte-bounded reads and metrics.
 */
export function extendSyncPlugin(app: FastifyInstance, options: SyncServerPluginExtras & { sharedSyncLog: SharedSyncLog; bodyLimit: number }): SharedSyncLog {
  const inputLimits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.inputLimits }
  // UTF-8 only, nesting bounded before parsing (see input.ts).
  installJsonParser(app, inputLimits, options.bodyLimit)
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as { entries?: unknown; extraSentInfo?: unknown } | undefined
    if (body === null || typeof body !== 'object') return
    if (Array.isArray(body.entries) && body.entries.length > 1000) await yieldToOthers()
    const textProblem = findTextProblem(body)
    if (textProblem) {
      return sendError(reply, 'INVALID_TEXT', `invalid request to ${request.url.split('?')[0]}: ${textProblem}`)
    }
    if (body.extraSentInfo !== undefined && jsonBytes(body.extraSentInfo) > inputLimits.maxExtraSentInfoBytes) {
      return sendError(reply, 'EXTRA_SENT_INFO_TOO_LARGE', `extraSentInfo is larger than ${inputLimits.maxExtraSentInfoBytes} bytes as JSON; it is repeated on every entry of the write, keep it small`)
    }
  })
  const notifier = options.notifier ?? new MemoryNotifier()
  const observer = options.observer
  registerLiveRoute(app, {
    sharedSyncLog: options.sharedSyncLog,
    notifier,
    heartbeatMs: options.liveHeartbeatMs ?? 20_000,
    maxStreamsPerUser: options.maxStreamsPerUser ?? 32,
    maxStreamMs: options.maxStreamMs ?? 30 * 60_000,
    onStreams: (delta) => observer?.liveStreams(delta),
  })
  return serverSideLog(options.sharedSyncLog, {
    notifier,
    observer,
    quotas: options.quotas ? new QuotaTracker(options.quotas) : null,
    maxReadBytes: options.maxReadBytes ?? 8 * 1024 * 1024,
  })
}

/** The log as the routes see it: quotas before, notifications and counts after, reads bounded in bytes. */
function serverSideLog(
  log: SharedSyncLog,
  { notifier, observer, quotas, maxReadBytes }: { notifier: ChangeNotifier; observer?: SyncObserver; quotas: QuotaTracker | null; maxReadBytes: number },
): SharedSyncLog {
  return {
    async createDeviceId(options) {
      await quotas?.checkDevice(options.userId)
      const deviceId = await log.createDeviceId(options)
      quotas?.recordDevice(options.userId)
      observer?.deviceCreated()
      return deviceId
    },
    getDeviceInfo: (options) => log.getDeviceInfo(options),
    async writeEntries(entries, options) {
      const bytes = quotas ? entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.data, 'utf8'), 0) : 0
      await quotas?.checkWrite(options.userId, entries.length, bytes)
      await log.writeEntries(entries, options)
      if (entries.length) notifier.publish({ userKey: String(options.userId), deviceId: String(options.deviceId) })
      quotas?.recordWrite(options.userId, entries.length, bytes)
      observer?.entriesWritten(entries.length)
    },
    async getUnsyncedEntries(options: { userId: UserId; deviceId: DeviceId; batchSize?: number }): Promise<SharedSyncLogUpdate> {
      let update = await log.getUnsyncedEntries(options)
      // A page of many large entries is read again with fewer (reads change nothing, the memo matches the page).
      for (let attempt = 0; attempt < 8 && update.entries.length > 1; attempt += 1) {
        const bytes = update.entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.data, 'utf8') + (entry.extraSentInfo === undefined ? 0 : jsonBytes(entry.extraSentInfo)), 0)
        if (bytes <= maxReadBytes) break
        const batchSize = Math.max(1, Math.min(update.entries.length - 1, Math.floor((update.entries.length * maxReadBytes) / bytes)))
        update = await log.getUnsyncedEntries({ ...options, batchSize })
      }
      observer?.entriesDelivered(update.entries.length)
      return update
    },
    markAsSeen: (update, options) => log.markAsSeen(update, options),
    ...(log.getSnapshotPage ? { getSnapshotPage: (options) => boundedSnapshotPage(log, options, maxReadBytes) } : {}),
  }
}

/**
 * A snapshot page of at most `maxReadBytes` of entry data where it can be: a
 * larger page is asked for again with fewer objects (the same cursor, so
 * nothing is skipped; a first page is taken again, with the log as it is then).
 */
async function boundedSnapshotPage(log: SharedSyncLog, options: Parameters<NonNullable<SharedSyncLog['getSnapshotPage']>>[0], maxReadBytes: number) {
  let page = await log.getSnapshotPage!(options)
  for (let attempt = 0; attempt < 8 && page.objects.length > 1; attempt += 1) {
    const bytes = page.objects.reduce((sum, object) => sum + object.entries.reduce((inner, entry) => inner + Buffer.byteLength(entry.data, 'utf8'), 0), 0)
    if (bytes <= maxReadBytes) break
    const limit = Math.max(1, Math.min(page.objects.length - 1, Math.floor((page.objects.length * maxReadBytes) / bytes)))
    page = await log.getSnapshotPage!({ ...options, limit })
  }
  return page
}

/** Errors with an answer of their own (bad input, quotas, rate limits, a lost database); undefined for the rest. */
export function answerKnownError(error: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
  if (error instanceof AnsweredError) {
    return sendError(reply, error.code, error.message)
  }
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && isServerErrorCode(code)) {
    return sendError(reply, code, (error as Error).message) // RATE_LIMITED from the rate limiter
  }
  if (isDatabaseUnavailable(error)) {
    // Nothing was committed (the transaction died with its connection); the client retries.
    request.log.warn({ err: error }, 'storex-sync: database unavailable')
    reply.header('retry-after', '1')
    return sendError(reply, 'DATABASE_UNAVAILABLE', 'the database connection was lost while handling this request; nothing was stored, retry shortly')
  }
  return undefined
}

/** PostgreSQL connection loss: admin shutdown/termination (57P0x), connection exceptions (08xxx), a dropped socket. */
function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'string' && (/^57P0[123]$/.test(code) || /^08[0-9A-Z]{3}$/.test(code) || code === 'ECONNRESET' || code === 'ECONNREFUSED')) return true
  return /^Connection terminated/.test((error as Error)?.message ?? '')
}

/**
 * `createSyncServer` before the sync routes: opens the log (for `database`),
 * creates the Fastify app (logging, timeouts, prompt shutdown), then health,
 * metrics, rate limits, CORS and the notifier.
 */
export async function prepareSyncServer(
  options: CreateSyncServerExtras & { sharedSyncLog?: SharedSyncLog; database?: string; logger?: FastifyServerOptions['logger']; bodyLimit: number; notifier?: ChangeNotifier },
): Promise<{ app: FastifyInstance; sharedSyncLog: SharedSyncLog; extras: Pick<SyncServerPluginExtras, 'notifier' | 'observer' | 'quotas'> }> {
  let sharedSyncLog = options.sharedSyncLog
  const replicaOptions = options.replica === true ? {} : options.replica || null
  let replica: SyncReplica | null = replicaOptions?.instance ?? null
  let close: (() => Promise<void>) | undefined
  let warn: (error: Error) => void = () => {}
  let ping: (() => Promise<void>) | undefined
  let usage: ((userId: UserId) => Promise<UserUsage>) | undefined
  if (!sharedSyncLog) {
    const wantsReplica = replicaOptions && !replica ? { database: replicaOptions.database, batchSize: replicaOptions.batchSize } : undefined
    const opened = await openSharedSyncLog({ database: options.database!, onConnectionError: (error) => warn(error), replica: wantsReplica })
    sharedSyncLog = opened.sharedSyncLog
    replica ??= opened.replica?.replica ?? null
    close = opened.close
    ping = opened.ping
    usage = opened.usage
  } else if (sharedSyncLog instanceof PostgresSharedSyncLog) {
    const log = sharedSyncLog
    ping = () => log.ping()
    usage = (userId) => log.usage(userId)
  }
  const requestTimeout = options.requestTimeoutMs ?? 10_000
  const app = Fastify({
    // Default: warnings and errors (every 500 with its request id and user id) as JSON lines on stdout.
    logger: options.logger ?? { level: 'warn' },
    bodyLimit: options.bodyLimit,
    requestTimeout,
    // Node checks request timeouts on this interval (default 30 s): check often enough for the timeout to mean something.
    http: { connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 4))) },
    // (typed as boolean only to keep Fastify's overloads on HTTP/1; strings and hop counts work at run time)
    trustProxy: (options.trustProxy ?? false) as boolean,
    // Idle keep-alive connections are closed at once on close() ...
    forceCloseConnections: 'idle',
  })
  // Node enforces requestTimeout only when headersTimeout (default 60 s) is not larger.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, requestTimeout)
  // ... and a request still running (or a client stalling its body) gets closeGraceMs to finish.
  app.addHook('preClose', async () => {
    const timer = setTimeout(() => app.server.closeAllConnections(), options.closeGraceMs ?? 3000)
    timer.unref()
    app.server.once('close', () => clearTimeout(timer))
  })
  warn = (error) => app.log.warn({ err: error }, 'storex-sync: database connection error (recovered; the next query reconnects)')
  if (close) {
    app.addHook('onClose', async () => {
      await close!()
    })
  }
  try {
    const prepared = await addOperations(app, options, sharedSyncLog, { ping, usage, warn })
    return { ...prepared, sharedSyncLog: replicaOptions ? await addReplica(app, sharedSyncLog, replica, replicaOptions, prepared.extras.observer, warn) : decorateReplica(app, null, sharedSyncLog) }
  } catch (error) {
    await app.close().catch(() => {})
    throw error
  }
}

async function addOperations(
  app: FastifyInstance,
  options: CreateSyncServerExtras & { notifier?: ChangeNotifier },
  sharedSyncLog: SharedSyncLog,
  { ping, usage, warn }: { ping?: () => Promise<void>; usage?: (userId: UserId) => Promise<UserUsage>; warn: (error: Error) => void },
): Promise<{ app: FastifyInstance; sharedSyncLog: SharedSyncLog; extras: Pick<SyncServerPluginExtras, 'notifier' | 'observer' | 'quotas'> }> {
  let notifier = options.notifier
  if (!notifier && sharedSyncLog instanceof PostgresSharedSyncLog) {
    const postgresNotifier = new PostgresNotifier({ connectionString: sharedSyncLog.connectionString, onConnectionError: (error) => warn(error) })
    await postgresNotifier.ready()
    notifier = postgresNotifier
  }
  notifier ??= new MemoryNotifier()
  app.addHook('onClose', async () => {
    await notifier!.close()
  })
  // Operations first: their hooks must be in place before the sync routes are added.
  if (options.cors) await installCors(app, options.cors)
  installHealth(app, { ping: options.ping ?? ping })
  const postgresLog = sharedSyncLog instanceof PostgresSharedSyncLog ? sharedSyncLog : null
  const observer = options.metrics === false ? undefined : await installMetrics(app, { token: options.metrics?.token, poolStats: postgresLog ? () => postgresLog.poolStats() : undefined })
  if (options.rateLimit !== false) await installRateLimits(app, options.rateLimit ?? {})
  let quotas: QuotaOptions | undefined
  if (options.quotas && (options.quotas.maxDevicesPerUser !== undefined || options.quotas.maxEntriesPerUser !== undefined || options.quotas.maxBytesPerUser !== undefined)) {
    const source = options.quotas.usage ?? usage
    if (!source) {
      throw new SyncServerError('INVALID_OPTION', 'quotas need to know what a user stores: pass `quotas.usage` (userId => { devices, entries, bytes }) or use `database` / a PostgresSharedSyncLog.')
    }
    // The replica's device is the server's, not the user's: it does not count towards maxDevicesPerUser.
    const withoutReplica: QuotaOptions['usage'] = async (userId) => {
      const counted = await source(userId)
      const replicaDevice = await app.syncReplica?.getDeviceId(userId)
      return replicaDevice === null || replicaDevice === undefined ? counted : { ...counted, devices: Math.max(0, counted.devices - 1) }
    }
    quotas = { ...options.quotas, usage: options.quotas.usage ? source : withoutReplica }
  }
  return { app, sharedSyncLog, extras: { notifier, observer, quotas } }
}

/** The replica beside the log (opened in the log's database unless given); returns the log the routes use. */
async function addReplica(
  app: FastifyInstance,
  log: SharedSyncLog,
  given: SyncReplica | null,
  options: ServerReplicaOptions,
  observer: SyncObserver | undefined,
  warn: (error: Error) => void,
): Promise<SharedSyncLog> {
  const postgresLog = log instanceof PostgresSharedSyncLog ? log : null
  let replica = given
  if (!replica) {
    const database = options.database ?? postgresLog?.connectionString
    if (!database) {
      throw new SyncServerError('INVALID_OPTION', 'replica needs a database for its collections: pass `replica.database` (an SQLite path or a postgres:// URL) or `replica.instance`, or give the server `database` instead of `sharedSyncLog`.')
    }
    const opened = await openReplicaDatabase(database, log, { batchSize: options.batchSize, describe: redactUrl })
    app.addHook('onClose', () => opened.close())
    replica = opened.replica
  }
  // Several server processes on one PostgreSQL database: one of them at a time works on a user's replica.
  const lock = postgresLog ? new PostgresUserLock({ connectionString: postgresLog.connectionString, onConnectionError: warn }) : noUserLock
  const attached = attachReplica(log, replica, { ...options, lock, logger: app.log, observer })
  // preClose: before any database closes (onClose hooks), the schedule stops and running catch-ups end.
  app.addHook('preClose', () => attached.close())
  return decorateReplica(app, attached, attached.sharedSyncLog)
}

function decorateReplica(app: FastifyInstance, attached: ReturnType<typeof attachReplica> | null, log: SharedSyncLog): SharedSyncLog {
  app.decorate('syncReplica', attached?.replica ?? null)
  app.decorate('syncReplicaIdle', () => attached?.idle() ?? Promise.resolve())
  app.decorate('syncCompact', () => {
    if (!attached) return Promise.reject(new SyncServerError('INVALID_OPTION', 'this server keeps no replica, so it does not compact; start it with `replica` (--replica).'))
    return attached.compactNow()
  })
  return log
}
