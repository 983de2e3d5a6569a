import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { UserId } from '@storex-sync/shared-sync-log-core'
import { AnsweredError } from './answer'

/** What a user stores. `bytes` is null where the storage cannot tell (SQLite). */
export interface UserUsage {
  devices: number
  entries: number
  bytes: number | null
}

export interface QuotaOptions {
  /** Most devices per user; more get 429 QUOTA_DEVICES. */
  maxDevicesPerUser?: number
  /** Most entries per user; a write beyond gets 413 QUOTA_ENTRIES. */
  maxEntriesPerUser?: number
  /** Most bytes of entry data per user (PostgreSQL); a write beyond gets 413 QUOTA_BYTES. */
  maxBytesPerUser?: number
  /** Reads a user's usage from the database; cached per user for `cacheMs` and kept current by this process's writes. */
  usage: (userId: UserId) => Promise<UserUsage>
  /** How long a usage read is trusted, in ms (default 60000). */
  cacheMs?: number
}


/**
 * Per-user quotas. Usage is read from the database once per user and minute,
 * and counted forward by this process's own writes in between (other server
 * processes' writes show at the next read), so a check costs no query.
 */
export class QuotaTracker {
  private readonly cache = new Map<string, { usage: UserUsage; readAt: number }>()

  constructor(private readonly options: QuotaOptions) {}

  private async current(userId: UserId): Promise<UserUsage> {
    const key = String(userId)
    const cached = this.cache.get(key)
    if (cached && Date.now() - cached.readAt < (this.options.cacheMs ?? 60_000)) return cached.usage
    const usage = await this.options.usage(userId)
    this.cache.set(key, { usage: { ...usage }, readAt: Date.now() })
    if (this.cache.size > 100_000) this.cache.delete(this.cache.keys().next().value!)
    return usage
  }

  async checkDevice(userId: UserId): Promise<void> {
    const max = this.options.maxDevicesPerUser
    if (max === undefined) return
    const usage = await this.current(userId)
    if (usage.devices >= max) {
      throw new AnsweredError('QUOTA_DEVICES', `this user already has ${usage.devices} devices, the most this server allows (${max}); reuse a device id (store it with the device's data) or ask the operator for more`)
    }
  }

  async checkWrite(userId: UserId, entries: number, bytes: number): Promise<void> {
    const { maxEntriesPerUser, maxBytesPerUser } = this.options
    if (maxEntriesPerUser === undefined && maxBytesPerUser === undefined) return
    const usage = await this.current(userId)
    if (maxEntriesPerUser !== undefined && usage.entries + entries > maxEntriesPerUser) {
      throw new AnsweredError('QUOTA_ENTRIES', `this write would bring the user to ${usage.entries + entries} entries; this server keeps at most ${maxEntriesPerUser} per user`)
    }
    if (maxBytesPerUser !== undefined && usage.bytes !== null && usage.bytes + bytes > maxBytesPerUser) {
      throw new AnsweredError('QUOTA_BYTES', `this write would bring the user to ${usage.bytes + bytes} bytes of entry data; this server keeps at most ${maxBytesPerUser} per user`)
    }
  }

  recordDevice(userId: UserId): void {
    const cached = this.cache.get(String(userId))
    if (cached) cached.usage.devices += 1
  }

  recordWrite(userId: UserId, entries: number, bytes: number): void {
    const cached = this.cache.get(String(userId))
    if (cached) {
      cached.usage.entries += entries
      if (cached.usage.bytes !== null) cached.usage.bytes += bytes
    }
  }
}

/** What the sync routes report, for metrics. */
export interface SyncObserver {
  entriesWritten(count: number): void
  entriesDelivered(count: number): void
  deviceCreated(): void
  liveStreams(delta: number): void
  /** Entries compaction deleted (servers with a replica). */
  entriesCompacted?(count: number): void
  /** Devices compaction retired. */
  devicesRetired?(count: number): void
  /** A catch-up of the replica after a write failed (it is retried at the next write). */
  replicaCatchUpFailed?(): void
}

export interface MetricsOptions {
  /** Serve Prometheus metrics at /metrics (default true). */
  enabled?: boolean
  /** If set, /metrics needs `Authorization: Bearer <token>`. */
  token?: string
  /** Pool counts of the database, if it has a pool. */
  poolStats?: () => { total: number; idle: number; waiting: number }
}

/**
 * Prometheus metrics with prom-client, on a registry of this app's own (so
 * several apps in one process do not collide): requests and latency by route
 * and status, entries written and delivered, devices created, open live
 * streams, database pool, and Node's process metrics (memory, CPU, event loop).
 */
export async function installMetrics(app: FastifyInstance, options: MetricsOptions): Promise<SyncObserver> {
  const client = await import('prom-client')
  const register = new client.Registry()
  client.collectDefaultMetrics({ register, prefix: 'storex_sync_' })
  const requests = new client.Counter({ name: 'storex_sync_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [register] })
  const latency = new client.Histogram({
    name: 'storex_sync_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [register],
  })
  const written = new client.Counter({ name: 'storex_sync_entries_written_total', help: 'Entries accepted by writes', registers: [register] })
  const delivered = new client.Counter({ name: 'storex_sync_entries_delivered_total', help: 'Entries handed out by reads', registers: [register] })
  const devices = new client.Counter({ name: 'storex_sync_devices_created_total', help: 'Devices created', registers: [register] })
  const streams = new client.Gauge({ name: 'storex_sync_live_streams', help: 'Open live-update streams', registers: [register] })
  const compacted = new client.Counter({ name: 'storex_sync_entries_compacted_total', help: 'Log entries deleted by compaction', registers: [register] })
  const retired = new client.Counter({ name: 'storex_sync_devices_retired_total', help: 'Devices retired by compaction (silent longer than the retention)', registers: [register] })
  const catchUpFailures = new client.Counter({ name: 'storex_sync_replica_catch_up_failures_total', help: 'Failed catch-ups of the replica after a write (retried at the next write)', registers: [register] })
  if (options.poolStats) {
    const poolStats = options.poolStats
    new client.Gauge({
      name: 'storex_sync_db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'],
      registers: [register],
      collect() {
        const stats = poolStats()
        this.set({ state: 'total' }, stats.total)
        this.set({ state: 'idle' }, stats.idle)
        this.set({ state: 'waiting' }, stats.waiting)
      },
    })
  }

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? 'unknown'
    if (route === '/metrics') return
    const labels = { route, method: request.method, status: String(reply.statusCode) }
    requests.inc(labels)
    latency.observe(labels, reply.elapsedTime / 1000)
  })

  if (options.enabled !== false) {
    app.get('/metrics', async (request, reply) => {
      if (options.token && request.headers.authorization !== `Bearer ${options.token}`) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: { code: 'UNAUTHENTICATED', message: '/metrics needs "Authorization: Bearer <metrics token>"' } })
      }
      return reply.header('content-type', register.contentType).header('cache-control', 'no-store').send(await register.metrics())
    })
  }

  return {
    entriesWritten: (count) => written.inc(count),
    entriesDelivered: (count) => delivered.inc(count),
    deviceCreated: () => devices.inc(),
    liveStreams: (delta) => streams.inc(delta),
    entriesCompacted: (count) => compacted.inc(count),
    devicesRetired: (count) => retired.inc(count),
    replicaCatchUpFailed: () => catchUpFailures.inc(),
  }
}

export interface HealthOptions {
  /** Rejects when the database does not answer. */
  ping?: () => Promise<void>
  /** Longest a readiness check may take, in ms (default 2000). */
  timeoutMs?: number
}

/** `/healthz` (the process answers) and `/readyz` (the database answers too), both without credentials. */
export function installHealth(app: FastifyInstance, options: HealthOptions): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))
  app.get('/readyz', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    if (closing) return reply.code(503).send({ status: 'closing' })
    if (!options.ping) return reply.send({ status: 'ready' })
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([
        options.ping(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), options.timeoutMs ?? 2000)
        }),
      ])
      return reply.send({ status: 'ready' })
    } catch (error) {
      request.log.warn({ err: error }, 'storex-sync: readiness check failed (database)')
      return reply.code(503).send({ status: 'unavailable', reason: 'the database does not answer' })
    } finally {
      clearTimeout(timer)
    }
  })
}

export interface RateLimitOptions {
  /** Requests per minute from one address, before authentication (default 1200; 0 turns it off). */
  perAddressPerMinute?: number
  /** Requests per minute for one user, after authentication (default 600; 0 turns it off). */
  perUserPerMinute?: number
}

/**
 * Rate limits with @fastify/rate-limit: per address on every request before
 * the token is checked (slows token guessing), and per user after it. A
 * limited request gets 429 RATE_LIMITED with `retry-after`.
 */
export async function installRateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const perAddress = options.perAddressPerMinute ?? 1200
  const perUser = options.perUserPerMinute ?? 600
  if (!perAddress && !perUser) return
  const { default: rateLimit } = await import('@fastify/rate-limit')
  await app.register(rateLimit, { global: false })
  const errorResponseBuilder = (what: string) => (_request: FastifyRequest, context: { max: number; after: string }) =>
    Object.assign(new Error(`too many requests ${what} (at most ${context.max} a minute); retry in ${context.after}`), { statusCode: 429, code: 'RATE_LIMITED' })
  if (perAddress) {
    app.addHook('onRequest', app.rateLimit({ max: perAddress, timeWindow: 60_000, keyGenerator: (request) => `ip:${request.ip}`, errorResponseBuilder: errorResponseBuilder('from this address') }))
  }
  if (perUser) {
    app.addHook(
      'preHandler',
      app.rateLimit({
        max: perUser,
        timeWindow: 60_000,
        keyGenerator: (request) => `user:${String(request.syncUserId)}`,
        allowList: (request) => request.syncUserId === undefined,
        errorResponseBuilder: errorResponseBuilder('for this user'),
      }),
    )
  }
}

export interface CorsOptions {
  /** Origins allowed to call the API from a browser, e.g. `['https://app.example.com']`; `true` for any. */
  origins: string[] | true
  /** How long browsers may cache a preflight answer, in seconds (default 600). */
  maxAgeSec?: number
}

/** CORS with @fastify/cors: preflights answered before authentication, only for the configured origins. */
export async function installCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  const { default: cors } = await import('@fastify/cors')
  await app.register(cors, {
    origin: options.origins === true ? true : options.origins,
    methods: ['POST', 'GET'],
    allowedHeaders: ['content-type', 'authorization'],
    maxAge: options.maxAgeSec ?? 600,
    hook: 'onRequest',
  })
}
