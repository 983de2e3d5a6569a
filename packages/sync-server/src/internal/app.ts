import {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import { errorDetail, isSyncError } from '@storex-sync/errors'
import { SharedSyncLogError, WRITE_SIZE_RULE, readRefusal, type SharedSyncLog, type UserId } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'
import { AuthenticationError, type Authenticator } from './auth'
import { PROTOCOL_VERSION, ROUTES } from '@storex-sync/shared-sync-log-http'
import { createSchemas, describeIssues, refusedEntriesOf } from './schemas'
import { answerKnownError, extendSyncPlugin, prepareSyncServer, type CreateSyncServerExtras, type SyncServerPluginExtras } from './server-setup'
import { sendError } from './answer'

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024
export const DEFAULT_MAX_BATCH_SIZE = 1000
export const DEFAULT_MAX_SNAPSHOT_PAGE = 1000

export interface SyncServerPluginOptions extends SyncServerPluginExtras {
  /** The log to expose. Any implementation: `SharedSyncLogStorage`, `PostgresSharedSyncLog`, `MemorySharedSyncLog`. */
  sharedSyncLog: SharedSyncLog
  /** Token -> user id (or null to refuse). The only source of the user id. */
  authenticate: Authenticator
  /** Largest accepted request body in bytes (default 4 MiB); bigger ones get 413. */
  bodyLimit?: number
  /** Most entries returned by one read (default 1000); reads asking for more, or for all, get pages with `hasMore`. */
  maxBatchSize?: number
  /** Most objects in one snapshot page (`POST /v1/snapshot`, default 1000); larger requests get this many. */
  maxSnapshotPage?: number
  /** Most entries accepted by one write (default 10000). */
  maxEntriesPerWrite?: number
  /**
   * Entries whose createdOn lies further ahead of the server's clock (ms) are
   * refused with 400, as are createdOn values that are not safe non-negative
   * integers. Default 24 hours (DEFAULT_MAX_CLOCK_DRIFT_MS of client-sync-log).
   */
  maxClockDriftMs?: number
  /** Answer unknown routes under this plugin's prefix with a JSON 404 (default true). */
  handleNotFound?: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    syncUserId?: UserId
  }
}

/**
 * The sync routes as a Fastify plugin, to mount in an existing app:
 * `app.register(syncServerPlugin, { prefix: '/sync', sharedSyncLog, authenticate })`.
 * Routes, error handler and authentication stay inside the plugin's scope.
 */
export const syncServerPlugin: FastifyPluginAsync<SyncServerPluginOptions> = async (app, options) => {
  const { authenticate } = options
  if (!options.sharedSyncLog || typeof options.sharedSyncLog.writeEntries !== 'function') {
    throw new SyncServerError('INVALID_OPTION', 'syncServerPlugin needs a `sharedSyncLog` option: a SharedSyncLog to expose.')
  }
  if (typeof authenticate !== 'function') {
    throw new SyncServerError('INVALID_OPTION', 'syncServerPlugin needs an `authenticate` option: a function from a bearer token to a user id (or null).')
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE
  const maxSnapshotPage = options.maxSnapshotPage ?? DEFAULT_MAX_SNAPSHOT_PAGE
  const maxEntriesPerWrite = options.maxEntriesPerWrite ?? 10_000
  const schemas = createSchemas({ maxEntriesPerWrite, maxClockDriftMs: options.maxClockDriftMs })
  // Published at POST /v1/info: clients cut their writes to these.
  const limits = { maxEntriesPerWrite, maxWriteBytes: bodyLimit, sizeRule: WRITE_SIZE_RULE }
  const routeList = Object.values(ROUTES).join(', ')

  // JSON only: without this, Fastify would hand text/plain bodies to the routes as strings.
  app.removeContentTypeParser('text/plain')
  // UTF-8 JSON of bounded depth, text checks, the live route; the log with quotas, notifications, metrics.
  const sharedSyncLog = extendSyncPlugin(app, { ...options, bodyLimit })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = answerKnownError(error, request, reply)
    if (known) return known
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 'BODY_TOO_LARGE', `the request body is larger than the server's limit of ${bodyLimit} bytes; send fewer entries per write (POST ${ROUTES.info} tells the limits)`)
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', `send JSON with "content-type: application/json", got ${JSON.stringify(request.headers['content-type'] ?? null)}`)
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 'INVALID_JSON', 'the request body is empty; send a JSON object')
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 'INVALID_JSON', 'the request body is not valid JSON')
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(reply, 'INVALID_REQUEST', 'the content-length header does not match the body')
    }
    if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON|prototype/i.test(error.message))) {
      return sendError(reply, 'INVALID_JSON', `the request body is not acceptable JSON (${error instanceof SyntaxError ? 'syntax error' : error.message})`)
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, 'INVALID_REQUEST', error.message)
    }
    request.log.error({ err: error }, 'storex-sync: request failed')
    return sendError(reply, 'INTERNAL_ERROR', 'the server failed to handle this request; its log has the details. Retrying later may help.')
  })

  if (options.handleNotFound !== false) {
    app.setNotFoundHandler((request, reply) =>
      sendError(reply, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; the sync API takes POST requests with a JSON body to ${routeList}`),
    )
  }

  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match) {
      reply.header('www-authenticate', 'Bearer')
      return sendError(reply, 'UNAUTHENTICATED', 'missing credentials: send the header "Authorization: Bearer <token>"', { reason: 'missing_token' })
    }
    let userId: UserId | null
    try {
      userId = await authenticate(match[1]!)
    } catch (error) {
      if (error instanceof AuthenticationError) {
        reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${error.message.replace(/["\\]/g, '')}"`)
        return sendError(reply, 'UNAUTHENTICATED', error.message, { reason: error.reason })
      }
      request.log.error({ err: error }, 'storex-sync: authenticate() threw')
      return sendError(reply, 'INTERNAL_ERROR', 'the server could not check the credentials; retry later')
    }
    if (userId === null || userId === undefined) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      return sendError(reply, 'UNAUTHENTICATED', 'the token is not valid; check the token the client sends', { reason: 'invalid_token' })
    }
    if (!((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId)))) {
      request.log.error({ userId }, 'storex-sync: authenticate() returned something that is not a user id')
      return sendError(reply, 'INTERNAL_ERROR', 'the server could not check the credentials; retry later')
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
      const parsed = schema.safeParse(request.body)
      if (!parsed.success) {
        if (name === 'writeEntries') {
          // Bad entries are refused by name, so the client can set them aside and send the rest.
          const refused = refusedEntriesOf(request.body, parsed.error)
          if (refused) {
            return sendError(reply, 'ENTRIES_REFUSED', `the server refuses ${refused.length} of the entries for good: ${describeIssues(parsed.error)}`, { refused })
          }
          if (parsed.error.issues.some((issue) => issue.code === 'too_big' && issue.path.length === 1 && issue.path[0] === 'entries')) {
            return sendError(reply, 'REQUEST_TOO_LARGE', `at most ${maxEntriesPerWrite} entries per write; send them in several writes (POST ${ROUTES.info} tells the limits)`)
          }
        }
        return sendError(reply, 'INVALID_ARGUMENT', `invalid request to ${ROUTES[name]}: ${describeIssues(parsed.error)}`)
      }
      const body = parsed.data as any
      try {
        const result = await handler(body, request.syncUserId!)
        return reply.header('cache-control', 'no-store').send(result)
      } catch (error) {
        if (isSyncError(error)) {
          if (error.code === 'UNKNOWN_DEVICE') {
            // Built here, from the request alone: the answer for another user's
            // device is byte for byte the one for a device that does not exist.
            const unknown = SharedSyncLogError.unknownDevice(body.deviceId)
            return sendError(reply, 'UNKNOWN_DEVICE', errorDetail(unknown))
          }
          const refusal = readRefusal(error)
          if (refusal) {
            // The log behind the server refused entries for good: pass its refusal on.
            return refusal.refused
              ? sendError(reply, 'ENTRIES_REFUSED', refusal.message, { refused: refusal.refused })
              : sendError(reply, 'REQUEST_TOO_LARGE', refusal.message)
          }
          if (error.code === 'INVALID_MEMO' || error.code === 'INVALID_ARGUMENT') {
            return sendError(reply, error.code, errorDetail(error))
          }
          if (error.code === 'SNAPSHOT_REQUIRED') {
            // 409: the device's state conflicts with the log's; it bootstraps from POST /v1/snapshot, then reads on.
            return sendError(reply, error.code, errorDetail(SharedSyncLogError.snapshotRequired(body.deviceId)))
          }
          if (error.code === 'SNAPSHOT_UNAVAILABLE') {
            // 404, not 5xx: nothing failed, there is no replica here (and clients do not retry it).
            return sendError(reply, error.code, errorDetail(error))
          }
        }
        throw error
      }
    })
  }

  route('info', async () => ({ protocolVersion: PROTOCOL_VERSION, limits, now: Date.now() }))
  route('createDevice', async (body, userId) => ({
    deviceId: await sharedSyncLog.createDeviceId({ userId, sharedUntil: body.sharedUntil }),
  }))
  route('deviceInfo', async (body, userId) => ({
    device: await sharedSyncLog.getDeviceInfo({ userId, deviceId: body.deviceId }),
  }))
  route('writeEntries', async (body, userId) => {
    await sharedSyncLog.writeEntries(body.entries, {
      userId,
      deviceId: body.deviceId,
      ...(body.now !== undefined ? { now: body.now } : {}),
      ...(body.extraSentInfo !== undefined ? { extraSentInfo: body.extraSentInfo } : {}),
    })
    return { ok: true }
  })
  route('unsyncedEntries', async (body, userId) =>
    sharedSyncLog.getUnsyncedEntries({ userId, deviceId: body.deviceId, batchSize: Math.min(body.batchSize ?? maxBatchSize, maxBatchSize) }),
  )
  route('snapshot', async (body, userId) => {
    if (!sharedSyncLog.getSnapshotPage) throw SharedSyncLogError.snapshotUnavailable()
    // Only the user's own devices bootstrap: another user's device is unknown, as on every route.
    if (!(await sharedSyncLog.getDeviceInfo({ userId, deviceId: body.deviceId }))) throw SharedSyncLogError.unknownDevice(body.deviceId)
    const limit = Math.min(body.limit ?? maxSnapshotPage, maxSnapshotPage)
    return sharedSyncLog.getSnapshotPage({ userId, deviceId: body.deviceId, cursor: body.cursor ?? null, limit })
  })
  route('markAsSeen', async (body, userId) => {
    await sharedSyncLog.markAsSeen({ memo: body.memo }, { userId, deviceId: body.deviceId, ...(body.now !== undefined ? { now: body.now } : {}) })
    return { ok: true }
  })
}

export interface CreateSyncServerOptions extends Omit<SyncServerPluginOptions, 'sharedSyncLog' | 'handleNotFound' | 'quotas' | 'observer'>, CreateSyncServerExtras {
  /** The log to expose; or give `database` and the server opens (and on close, closes) one. */
  sharedSyncLog?: SharedSyncLog
  /** `postgres://...` for PostgreSQL, else the path of an SQLite file (`:memory:` for a throw-away one). */
  database?: string
  /** Mount the routes under this path, e.g. `/sync`. */
  prefix?: string
  /** Fastify's logger option (default: warnings and errors, with request and user ids, as JSON lines on stdout). */
  logger?: FastifyServerOptions['logger']
}

/**
 * A Fastify app serving the shared sync log. Not yet listening: call
 * `await app.listen({ port, host })`, or `app.inject()` in tests.
 * `await app.close()` also closes the database it opened.
 */
export async function createSyncServer(options: CreateSyncServerOptions): Promise<FastifyInstance> {
  if (!options.sharedSyncLog && !options.database) {
    throw new SyncServerError('INVALID_OPTION', 'createSyncServer needs `sharedSyncLog` (a SharedSyncLog) or `database` (an SQLite file path or a postgres:// URL).')
  }
  // Opens the log, creates the app, adds health, metrics, rate limits, CORS (see server-setup.ts).
  const { app, sharedSyncLog, extras } = await prepareSyncServer({ ...options, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT })
  const prefix = options.prefix?.replace(/\/+$/, '') ?? ''
  await app.register(syncServerPlugin, { ...options, sharedSyncLog, prefix, notifier: extras.notifier, observer: extras.observer, quotas: extras.quotas })
  if (prefix) {
    app.setNotFoundHandler((request, reply) =>
      sendError(reply, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; the sync API lives under ${prefix}/v1/`),
    )
  }
  return app
}
