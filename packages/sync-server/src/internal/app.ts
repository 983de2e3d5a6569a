import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import { isSyncError } from '@storex-sync/errors'
import { SharedSyncLogError, type SharedSyncLog, type UserId } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'
import { AuthenticationError, type Authenticator } from './auth'
import { ROUTES } from '@storex-sync/shared-sync-log-http'
import { createSchemas, describeIssues } from './schemas'
import { openSharedSyncLog } from './open-log'
import { MemoryNotifier, PostgresNotifier, registerLiveRoute, type ChangeNotifier } from './live'
import { PostgresSharedSyncLog } from './postgres-log'
import {
  QuotaError,
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
import { DEFAULT_INPUT_LIMITS, InputError, findTextProblem, installJsonParser, jsonBytes, yieldToOthers, type InputLimits } from './input'

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024
export const DEFAULT_MAX_BATCH_SIZE = 1000

export interface SyncServerPluginOptions {
  /** The log to expose. Any implementation: `SharedSyncLogStorage`, `PostgresSharedSyncLog`, `MemorySharedSyncLog`. */
  sharedSyncLog: SharedSyncLog
  /** Token -> user id (or null to refuse). The only source of the user id. */
  authenticate: Authenticator
  /** Largest accepted request body in bytes (default 4 MiB); bigger ones get 413. */
  bodyLimit?: number
  /** Most entries returned by one read (default 1000); reads asking for more, or for all, get pages with `hasMore`. */
  maxBatchSize?: number
  /** Most entries accepted by one write (default 10000). */
  maxEntriesPerWrite?: number
  /** Answer unknown routes under this plugin's prefix with a JSON 404 (default true). */
  handleNotFound?: boolean
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

declare module 'fastify' {
  interface FastifyRequest {
    syncUserId?: UserId
  }
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, extra?: Record<string, unknown>) {
  return reply.code(status).header('cache-control', 'no-store').send({ error: { code, message, ...extra } })
}

function withoutPackagePrefix(error: { message: string; packageName?: string }): string {
  const prefix = `${error.packageName}: `
  return error.packageName && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
}

/**
 * The sync routes as a Fastify plugin, to mount in an existing app:
 * `app.register(syncServerPlugin, { prefix: '/sync', sharedSyncLog, authenticate })`.
 * Routes, error handler and authentication stay inside the plugin's scope.
 */
export const syncServerPlugin: FastifyPluginAsync<SyncServerPluginOptions> = async (app, options) => {
  const { sharedSyncLog, authenticate } = options
  if (!sharedSyncLog || typeof sharedSyncLog.writeEntries !== 'function') {
    throw new SyncServerError('INVALID_OPTIONS', 'syncServerPlugin needs a `sharedSyncLog` option: a SharedSyncLog to expose.')
  }
  if (typeof authenticate !== 'function') {
    throw new SyncServerError('INVALID_OPTIONS', 'syncServerPlugin needs an `authenticate` option: a function from a bearer token to a user id (or null).')
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE
  const schemas = createSchemas({ maxEntriesPerWrite: options.maxEntriesPerWrite ?? 10_000 })
  const routeList = Object.values(ROUTES).join(', ')
  const inputLimits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.inputLimits }

  // JSON only: without this, Fastify would hand text/plain bodies to the routes as strings.
  app.removeContentTypeParser('text/plain')
  // UTF-8 only, nesting bounded before parsing (see input.ts).
  installJsonParser(app, inputLimits, bodyLimit)

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if ((error as unknown) instanceof InputError || (error as unknown) instanceof QuotaError) {
      const input = error as unknown as InputError
      return sendError(reply, input.status, input.code, input.message)
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'BODY_TOO_LARGE', `the request body is larger than the server's limit of ${bodyLimit} bytes; send fewer entries per write`)
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `send JSON with "content-type: application/json", got ${JSON.stringify(request.headers['content-type'] ?? null)}`)
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'INVALID_JSON', 'the request body is empty; send a JSON object')
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'INVALID_JSON', 'the request body is not valid JSON')
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(reply, 400, 'INVALID_REQUEST', 'the content-length header does not match the body')
    }
    if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON|prototype/i.test(error.message))) {
      return sendError(reply, 400, 'INVALID_JSON', `the request body is not acceptable JSON (${error instanceof SyntaxError ? 'syntax error' : error.message})`)
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      const code = typeof error.code === 'string' && /^[A-Z_]+$/.test(error.code) && !error.code.startsWith('FST_') ? error.code : 'INVALID_REQUEST'
      return sendError(reply, error.statusCode, code, error.message)
    }
    if (isDatabaseUnavailable(error)) {
      // Nothing was committed (the transaction died with its connection); the client retries.
      request.log.warn({ err: error }, 'storex-sync: database unavailable')
      reply.header('retry-after', '1')
      return sendError(reply, 503, 'DATABASE_UNAVAILABLE', 'the database connection was lost while handling this request; nothing was stored, retry shortly')
    }
    request.log.error({ err: error }, 'storex-sync: request failed')
    return sendError(reply, 500, 'INTERNAL_ERROR', 'the server failed to handle this request; its log has the details. Retrying later may help.')
  })

  if (options.handleNotFound !== false) {
    app.setNotFoundHandler((request, reply) =>
      sendError(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; the sync API takes POST requests with a JSON body to ${routeList}`),
    )
  }

  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match) {
      reply.header('www-authenticate', 'Bearer')
      return sendError(reply, 401, 'UNAUTHENTICATED', 'missing credentials: send the header "Authorization: Bearer <token>"', { reason: 'missing_token' })
    }
    let userId: UserId | null
    try {
      userId = await authenticate(match[1]!)
    } catch (error) {
      if (error instanceof AuthenticationError) {
        reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${error.message.replace(/["\\]/g, '')}"`)
        return sendError(reply, 401, 'UNAUTHENTICATED', error.message, { reason: error.reason })
      }
      request.log.error({ err: error }, 'storex-sync: authenticate() threw')
      return sendError(reply, 500, 'INTERNAL_ERROR', 'the server could not check the credentials; retry later')
    }
    if (userId === null || userId === undefined) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      return sendError(reply, 401, 'UNAUTHENTICATED', 'the token is not valid; check the token the client sends', { reason: 'invalid_token' })
    }
    if (!((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId)))) {
      request.log.error({ userId }, 'storex-sync: authenticate() returned something that is not a user id')
      return sendError(reply, 500, 'INTERNAL_ERROR', 'the server could not check the credentials; retry later')
    }
    request.syncUserId = userId
    // Every later log line of this request names its user (never its token).
    request.log = request.log.child({ userId })
  })

  function route<S extends keyof typeof schemas>(
    name: S,
    handler: (body: ReturnType<(typeof schemas)[S]['parse']>, userId: UserId) => Promise<unknown>,
  ) {
    const schema = schemas[name]
    app.post(ROUTES[name], { bodyLimit }, async (request: FastifyRequest, reply: FastifyReply) => {
      if (Array.isArray((request.body as { entries?: unknown })?.entries) && (request.body as { entries: unknown[] }).entries.length > 1000) await yieldToOthers()
      const parsed = schema.safeParse(request.body)
      if (!parsed.success) {
        return sendError(reply, 400, 'INVALID_ARGUMENT', `invalid request to ${ROUTES[name]}: ${describeIssues(parsed.error)}`)
      }
      const body = parsed.data as any
      if (Array.isArray(body.entries) && body.entries.length > 1000) await yieldToOthers()
      const textProblem = findTextProblem(request.body)
      if (textProblem) {
        return sendError(reply, 400, 'INVALID_TEXT', `invalid request to ${ROUTES[name]}: ${textProblem}`)
      }
      if (body.extraSentInfo !== undefined && jsonBytes(body.extraSentInfo) > inputLimits.maxExtraSentInfoBytes) {
        return sendError(reply, 413, 'EXTRA_SENT_INFO_TOO_LARGE', `extraSentInfo is larger than ${inputLimits.maxExtraSentInfoBytes} bytes as JSON; it is repeated on every entry of the write, keep it small`)
      }
      try {
        const result = await handler(body, request.syncUserId!)
        return reply.header('cache-control', 'no-store').send(result)
      } catch (error) {
        if (isSyncError(error)) {
          if (error.code === 'UNKNOWN_DEVICE') {
            // Built here, from the request alone: the answer for another user's
            // device is byte for byte the one for a device that does not exist.
            const unknown = SharedSyncLogError.unknownDevice(body.deviceId)
            return sendError(reply, 404, unknown.code, withoutPackagePrefix(unknown))
          }
          if (error.code === 'INVALID_MEMO' || error.code === 'INVALID_ARGUMENT') {
            return sendError(reply, 400, error.code, withoutPackagePrefix(error))
          }
        }
        throw error
      }
    })
  }

  const notifier = options.notifier ?? new MemoryNotifier()
  const observer = options.observer
  const quotas = options.quotas ? new QuotaTracker(options.quotas) : null
  registerLiveRoute(app, {
    sharedSyncLog,
    notifier,
    heartbeatMs: options.liveHeartbeatMs ?? 20_000,
    maxStreamsPerUser: options.maxStreamsPerUser ?? 32,
    maxStreamMs: options.maxStreamMs ?? 30 * 60_000,
    sendError,
    onStreams: (delta) => observer?.liveStreams(delta),
  })

  route('createDevice', async (body, userId) => {
    await quotas?.checkDevice(userId)
    const deviceId = await sharedSyncLog.createDeviceId({ userId, sharedUntil: body.sharedUntil })
    quotas?.recordDevice(userId)
    observer?.deviceCreated()
    return { deviceId }
  })
  route('deviceInfo', async (body, userId) => ({
    device: await sharedSyncLog.getDeviceInfo({ userId, deviceId: body.deviceId }),
  }))
  route('writeEntries', async (body, userId) => {
    const bytes = quotas ? body.entries.reduce((sum: number, entry: { data: string }) => sum + Buffer.byteLength(entry.data, 'utf8'), 0) : 0
    await quotas?.checkWrite(userId, body.entries.length, bytes)
    await sharedSyncLog.writeEntries(body.entries, {
      userId,
      deviceId: body.deviceId,
      ...(body.now !== undefined ? { now: body.now } : {}),
      ...(body.extraSentInfo !== undefined ? { extraSentInfo: body.extraSentInfo } : {}),
    })
    if (body.entries.length) notifier.publish({ userKey: String(userId), deviceId: String(body.deviceId) })
    quotas?.recordWrite(userId, body.entries.length, bytes)
    observer?.entriesWritten(body.entries.length)
    return { ok: true }
  })
  const maxReadBytes = options.maxReadBytes ?? 8 * 1024 * 1024
  route('unsyncedEntries', async (body, userId) => {
    let batchSize = Math.min(body.batchSize ?? maxBatchSize, maxBatchSize)
    let update = await sharedSyncLog.getUnsyncedEntries({ userId, deviceId: body.deviceId, batchSize })
    // A page of many large entries is read again with fewer (reads change nothing, the memo matches the page).
    for (let attempt = 0; attempt < 8 && update.entries.length > 1; attempt += 1) {
      const bytes = update.entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.data, 'utf8') + (entry.extraSentInfo === undefined ? 0 : jsonBytes(entry.extraSentInfo)), 0)
      if (bytes <= maxReadBytes) break
      batchSize = Math.max(1, Math.min(update.entries.length - 1, Math.floor((update.entries.length * maxReadBytes) / bytes)))
      update = await sharedSyncLog.getUnsyncedEntries({ userId, deviceId: body.deviceId, batchSize })
    }
    observer?.entriesDelivered(update.entries.length)
    return update
  })
  route('markAsSeen', async (body, userId) => {
    await sharedSyncLog.markAsSeen({ memo: body.memo }, { userId, deviceId: body.deviceId, ...(body.now !== undefined ? { now: body.now } : {}) })
    return { ok: true }
  })
}

export interface CreateSyncServerOptions extends Omit<SyncServerPluginOptions, 'sharedSyncLog' | 'handleNotFound' | 'quotas' | 'observer'> {
  /** The log to expose; or give `database` and the server opens (and on close, closes) one. */
  sharedSyncLog?: SharedSyncLog
  /** `postgres://...` for PostgreSQL, else the path of an SQLite file (`:memory:` for a throw-away one). */
  database?: string
  /** Mount the routes under this path, e.g. `/sync`. */
  prefix?: string
  /**
   * Fastify's logger option. Default: warnings and errors (every 500 with its
   * request id and user id) as JSON lines on stdout; `true` logs every request;
   * `false` nothing.
   */
  logger?: FastifyServerOptions['logger']
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
}

/**
 * A Fastify app serving the shared sync log. Not yet listening: call
 * `await app.listen({ port, host })`, or `app.inject()` in tests.
 * `await app.close()` also closes the database it opened.
 */
export async function createSyncServer(options: CreateSyncServerOptions): Promise<FastifyInstance> {
  if (!options.sharedSyncLog && !options.database) {
    throw new SyncServerError('INVALID_OPTIONS', 'createSyncServer needs `sharedSyncLog` (a SharedSyncLog) or `database` (an SQLite file path or a postgres:// URL).')
  }
  let sharedSyncLog = options.sharedSyncLog
  let close: (() => Promise<void>) | undefined
  let warn: (error: Error) => void = () => {}
  let ping: (() => Promise<void>) | undefined
  let usage: ((userId: UserId) => Promise<UserUsage>) | undefined
  if (!sharedSyncLog) {
    const opened = await openSharedSyncLog({ database: options.database!, onConnectionError: (error) => warn(error) })
    sharedSyncLog = opened.sharedSyncLog
    close = opened.close
    ping = opened.ping
    usage = opened.usage
  } else if (sharedSyncLog instanceof PostgresSharedSyncLog) {
    const log = sharedSyncLog
    ping = () => log.ping()
    usage = (userId) => log.usage(userId)
  }
  const app = Fastify({
    logger: options.logger ?? { level: 'warn' },
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    // Node checks request timeouts on this interval (default 30 s): check often enough for the timeout to mean something.
    http: { connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor((options.requestTimeoutMs ?? 10_000) / 4))) },
    // (typed as boolean only to keep Fastify's overloads on HTTP/1; strings and hop counts work at run time)
    trustProxy: (options.trustProxy ?? false) as boolean,
    // Idle keep-alive connections are closed at once on close() ...
    forceCloseConnections: 'idle',
  })
  // Node enforces requestTimeout only when headersTimeout (default 60 s) is not larger.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, options.requestTimeoutMs ?? 10_000)
  // ... and a request still running (or a client stalling its body) gets closeGraceMs to finish.
  app.addHook('preClose', async () => {
    const timer = setTimeout(() => app.server.closeAllConnections(), options.closeGraceMs ?? 3000)
    timer.unref()
    app.server.once('close', () => clearTimeout(timer))
  })
  warn = (error) => app.log.warn({ err: error }, 'storex-sync: database connection error (recovered; the next query reconnects)')
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
  if (close) {
    app.addHook('onClose', async () => {
      await close!()
    })
  }
  const prefix = options.prefix?.replace(/\/+$/, '') ?? ''
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
      throw new SyncServerError('INVALID_OPTIONS', 'quotas need to know what a user stores: pass `quotas.usage` (userId => { devices, entries, bytes }) or use `database` / a PostgresSharedSyncLog.')
    }
    quotas = { ...options.quotas, usage: source }
  }
  await app.register(syncServerPlugin, { ...options, sharedSyncLog, notifier, prefix, observer, quotas })
  if (prefix) {
    app.setNotFoundHandler((request, reply) =>
      sendError(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; the sync API lives under ${prefix}/v1/`),
    )
  }
  return app
}

/** PostgreSQL connection loss: admin shutdown/termination (57P0x), connection exceptions (08xxx), a dropped socket. */
function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'string' && (/^57P0[123]$/.test(code) || /^08[0-9A-Z]{3}$/.test(code) || code === 'ECONNRESET' || code === 'ECONNREFUSED')) return true
  return /^Connection terminated/.test((error as Error)?.message ?? '')
}
