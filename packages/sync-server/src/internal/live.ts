import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DeviceId, SharedSyncLog, UserId } from '@storex-sync/shared-sync-log-core'
import { ROUTES } from '@storex-sync/shared-sync-log-http'
import { sendError } from './answer'

/** What a change notification says: a device of this user wrote entries. */
export interface ChangeNotice {
  userKey: string
  /** The writing device, so its own stream is not woken by its own write. */
  deviceId: string
}

/**
 * Tells the live streams of a user's devices that the user's log changed.
 * `MemoryNotifier` within one process; `PostgresNotifier` across every server
 * process on one PostgreSQL database (LISTEN/NOTIFY).
 */
export interface ChangeNotifier {
  publish(notice: ChangeNotice): void
  /** `listener(null)` means "notifications may have been missed" (a reconnect): every stream should wake up. */
  subscribe(userKey: string, listener: (notice: ChangeNotice | null) => void): () => void
  close(): Promise<void>
}

/** Notifications within this process only. */
export class MemoryNotifier implements ChangeNotifier {
  protected readonly listeners = new Map<string, Set<(notice: ChangeNotice | null) => void>>()
  private readonly all = new Set<(notice: ChangeNotice | null) => void>()

  publish(notice: ChangeNotice): void {
    this.deliver(notice)
  }

  subscribe(userKey: string, listener: (notice: ChangeNotice | null) => void): () => void {
    let set = this.listeners.get(userKey)
    if (!set) {
      set = new Set()
      this.listeners.set(userKey, set)
    }
    set.add(listener)
    this.all.add(listener)
    return () => {
      set!.delete(listener)
      this.all.delete(listener)
      if (!set!.size) this.listeners.delete(userKey)
    }
  }

  protected deliver(notice: ChangeNotice): void {
    for (const listener of [...(this.listeners.get(notice.userKey) ?? [])]) listener(notice)
  }

  protected wakeAll(): void {
    for (const listener of [...this.all]) listener(null)
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.all.clear()
  }
}

export interface PostgresNotifierOptions {
  connectionString: string
  /** The NOTIFY channel (default `storex_sync_changes`). Processes sharing a database must agree on it. */
  channel?: string
  /** Told about connection losses (the notifier reconnects by itself). */
  onConnectionError?: (error: Error) => void
}

/**
 * Change notifications between server processes over one PostgreSQL
 * database: a write is announced with `pg_notify` on a channel every process
 * LISTENs to, on a connection of its own. The listening connection is opened
 * again when it drops (with backoff), and then every local stream is woken
 * up, since notifications may have been missed in between.
 */
export class PostgresNotifier extends MemoryNotifier {
  private readonly channel: string
  private readonly origin = randomUUID()
  private client: InstanceType<typeof pg.Client> | null = null
  private publisher: InstanceType<typeof pg.Pool>
  private closed = false
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private connected: Promise<void>

  constructor(private readonly options: PostgresNotifierOptions) {
    super()
    this.channel = options.channel ?? 'storex_sync_changes'
    if (!/^[a-z_][a-z0-9_]*$/.test(this.channel)) throw new Error(`invalid channel name ${this.channel}`)
    this.publisher = new pg.Pool({ connectionString: options.connectionString, max: 2, application_name: 'storex-sync-server-notify' })
    this.publisher.on('error', (error) => this.options.onConnectionError?.(error))
    this.publisher.on('connect', (client) => client.on('error', (error) => this.options.onConnectionError?.(error)))
    this.connected = this.listen(0)
  }

  /** Resolves once the first LISTEN is in place (or failed; it is then retried in the background). */
  ready(): Promise<void> {
    return this.connected
  }

  override publish(notice: ChangeNotice): void {
    this.deliver(notice) // this process at once; others through PostgreSQL
    const payload = JSON.stringify({ o: this.origin, u: notice.userKey, d: notice.deviceId })
    if (payload.length > 7000) return // NOTIFY payloads are limited to 8000 bytes; others catch up on their interval
    this.publisher.query('SELECT pg_notify($1, $2)', [this.channel, payload]).catch((error: Error) => this.options.onConnectionError?.(error))
  }

  private async listen(attempt: number): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({ connectionString: this.options.connectionString, application_name: 'storex-sync-server-listen' })
    client.on('error', (error: Error) => {
      this.options.onConnectionError?.(error)
      this.reconnect(client, attempt + 1)
    })
    client.on('end', () => this.reconnect(client, attempt + 1))
    client.on('notification', (message: { channel: string; payload?: string }) => {
      if (message.channel !== this.channel || !message.payload) return
      try {
        const { o, u, d } = JSON.parse(message.payload)
        if (o !== this.origin && typeof u === 'string') this.deliver({ userKey: u, deviceId: String(d) })
      } catch {
        // not ours
      }
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${this.channel}`)
      if (this.closed) {
        await client.end().catch(() => {})
        return
      }
      this.client = client
      if (attempt > 0) this.wakeAll()
    } catch (error) {
      this.options.onConnectionError?.(error as Error)
      this.reconnect(client, attempt + 1)
    }
  }

  private reconnect(client: InstanceType<typeof pg.Client>, attempt: number): void {
    if (this.closed || (this.client !== null && this.client !== client) || this.retryTimer) return
    this.client = null
    client.end().catch(() => {})
    const delay = Math.min(10_000, 100 * 2 ** Math.min(attempt, 7))
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      void this.listen(attempt)
    }, delay)
    this.retryTimer.unref?.()
  }

  override async close(): Promise<void> {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    const client = this.client
    this.client = null
    await client?.end().catch(() => {})
    await this.publisher.end().catch(() => {})
    await super.close()
  }
}

export interface LiveOptions {
  sharedSyncLog: SharedSyncLog
  notifier: ChangeNotifier
  /** A comment line this often keeps proxies from closing an idle stream, in ms (default 20000). */
  heartbeatMs: number
  /** Most open streams per user (default 32); more get 429. */
  maxStreamsPerUser: number
  /** A stream ends after this long (the client reconnects and authenticates again). */
  maxStreamMs: number
  onStreams?: (delta: number) => void
}

/**
 * `POST /v1/events` `{ deviceId }`: a Server-Sent Events stream (text/event-stream)
 * that says `event: change` whenever another device of the user wrote, and
 * `event: ready` once listening (a client syncs then, to catch up).
 */
export function registerLiveRoute(app: FastifyInstance, options: LiveOptions): { openStreams(): number } {
  const streams = new Set<FastifyReply>()
  const perUser = new Map<string, number>()

  app.addHook('preClose', async () => {
    for (const reply of streams) reply.raw.end()
  })

  app.post(ROUTES.events, async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as { deviceId?: unknown } | undefined
    const deviceId = body?.deviceId
    const userId = request.syncUserId as UserId
    const userKey = String(userId)
    if (!(typeof deviceId === 'string' || typeof deviceId === 'number') || body === null || typeof body !== 'object' || Object.keys(body).some((key) => key !== 'deviceId')) {
      return sendError(reply, 'INVALID_ARGUMENT', `invalid request to ${ROUTES.events}: send { "deviceId": <the device's id> }`)
    }
    const device = await options.sharedSyncLog.getDeviceInfo({ userId, deviceId: deviceId as DeviceId })
    if (!device) {
      return sendError(reply, 'UNKNOWN_DEVICE', `device ${JSON.stringify(deviceId)} is unknown to the shared log; create it with createDeviceId() first`)
    }
    const count = perUser.get(userKey) ?? 0
    if (count >= options.maxStreamsPerUser) {
      reply.header('retry-after', '30')
      return sendError(reply, 'TOO_MANY_STREAMS', `this user already has ${count} live streams open (the limit is ${options.maxStreamsPerUser}); close unused ones`)
    }
    perUser.set(userKey, count + 1)
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // nginx: do not buffer the stream
      connection: 'keep-alive',
    })
    raw.socket?.setTimeout(0)
    raw.socket?.setNoDelay(true)
    streams.add(reply)
    options.onStreams?.(1)
    const own = String(deviceId)
    const unsubscribe = options.notifier.subscribe(userKey, (notice) => {
      if (notice && notice.deviceId === own) return
      raw.write(`event: change\ndata: ${JSON.stringify({ from: notice?.deviceId ?? null })}\n\n`)
    })
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), options.heartbeatMs)
    heartbeat.unref?.()
    const lifetime = setTimeout(() => raw.end(), options.maxStreamMs)
    lifetime.unref?.()
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      clearInterval(heartbeat)
      clearTimeout(lifetime)
      unsubscribe()
      streams.delete(reply)
      options.onStreams?.(-1)
      const left = (perUser.get(userKey) ?? 1) - 1
      if (left > 0) perUser.set(userKey, left)
      else perUser.delete(userKey)
    }
    raw.on('close', end)
    raw.on('error', end)
    raw.write(`retry: 2000\nevent: ready\ndata: {}\n\n`)
  })

  return { openStreams: () => streams.size }
}
