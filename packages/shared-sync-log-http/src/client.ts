import {
  SharedSyncLogError,
  SharedSyncLogRefusalError,
  type DeviceId,
  type Now,
  type SharedSyncLog,
  type SharedSyncLogDeviceInfo,
  type SharedSyncLogEntryInput,
  type SharedSyncLogLimits,
  type SharedSyncLogMemo,
  type SharedSyncLogSnapshotPage,
  type SharedSyncLogUpdate,
  type UserId,
} from '@storex-sync/shared-sync-log-core'
import { validateBatchSize, validateEntryInputs, validateUserId } from '@storex-sync/shared-sync-log-core/implement'
import { SharedSyncLogHttpError } from './errors'
import { subscribeToLiveStream, type SubscribeOptions } from './internal/live'
import { errorDetail } from '@storex-sync/errors'
import { describeCause } from './internal/messages'
import { readErrorAnswer, type Attempt } from './internal/answers'
import { ROUTES, type RouteName } from './internal/protocol'

export type { SubscribeOptions } from './internal/live'

export interface BackoffOptions {
  /** Delay before the first retry, in ms (default 200). */
  initialMs?: number
  /** Upper bound of any delay, in ms (default 5000). */
  maxMs?: number
  /** Growth per attempt (default 2). */
  factor?: number
}

export interface RetryInfo {
  route: string
  /** 1 for the first retry. */
  attempt: number
  delayMs: number
  error: SharedSyncLogHttpError | SharedSyncLogError
}

export interface HttpSharedSyncLogOptions {
  /** Where the server listens, with the prefix it was mounted at if any: `https://sync.example.com/api`. */
  url: string
  /** Bearer token sent with every request. Give this or `getToken`. */
  token?: string
  /** Called before every request (also before retries), e.g. to refresh a short-lived token. */
  getToken?: () => string | Promise<string>
  /** A `fetch` implementation; default `globalThis.fetch` (browsers, Node >= 18). */
  fetch?: typeof globalThis.fetch
  /** Per-attempt time limit in ms (default 10000). */
  timeoutMs?: number
  /** How many times a failed request is retried on network errors, timeouts, 5xx and 429 (default 4). Never on other 4xx. */
  retries?: number
  /** Exponential backoff between retries, with jitter. */
  backoff?: BackoffOptions
  /** Called before each retry, e.g. for logging. */
  onRetry?: (info: RetryInfo) => void
  /** How long (ms) the limits read from the server are reused before asking again (default 300000). */
  limitsMaxAgeMs?: number
}


const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_RETRIES = 4

/**
 * The shared sync log of a `storex-sync-server` (or any app that mounted
 * `syncServerPlugin`), over `fetch`. Works in browsers and in Node.
 *
 * The `userId` arguments of the `SharedSyncLog` methods are not sent: the
 * server takes the user from the token. They are accepted so this class can
 * stand in for any other `SharedSyncLog`. There is no `compact()`: devices
 * cannot compact the log, the server does (a scheduled job).
 */
export class HttpSharedSyncLog implements SharedSyncLog {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof globalThis.fetch
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly backoff: Required<BackoffOptions>
  private limitsCache: { limits: SharedSyncLogLimits; at: number } | null = null
  private token: string | undefined

  constructor(private readonly options: HttpSharedSyncLogOptions) {
    if (!options || typeof options.url !== 'string') {
      throw new SharedSyncLogHttpError('INVALID_OPTION', 'HttpSharedSyncLog needs a `url` option: the address of the sync server, e.g. "http://127.0.0.1:8080".')
    }
    let parsed: URL
    try {
      parsed = new URL(options.url)
    } catch (cause) {
      throw new SharedSyncLogHttpError('INVALID_OPTION', `HttpSharedSyncLog: "${options.url}" is not a valid URL; pass an absolute http(s) URL such as "http://127.0.0.1:8080".`, { cause })
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new SharedSyncLogHttpError('INVALID_OPTION', `HttpSharedSyncLog: the URL must start with http:// or https://, got "${parsed.protocol}".`)
    }
    if (options.token === undefined && options.getToken === undefined) {
      throw new SharedSyncLogHttpError('INVALID_OPTION', 'HttpSharedSyncLog needs credentials: pass `token` (a string) or `getToken` (a function returning one).')
    }
    this.baseUrl = options.url.replace(/\/+$/, '')
    // Browsers refuse a detached `fetch` ("Illegal invocation"): bind the global one.
    const fetchImpl = options.fetch ?? (globalThis as any).fetch?.bind(globalThis)
    if (typeof fetchImpl !== 'function') {
      throw new SharedSyncLogHttpError('INVALID_OPTION', 'HttpSharedSyncLog: no global fetch in this environment; pass a `fetch` option (e.g. from undici or node-fetch).')
    }
    this.fetchImpl = fetchImpl
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.retries = options.retries ?? DEFAULT_RETRIES
    this.backoff = { initialMs: 200, maxMs: 5000, factor: 2, ...options.backoff }
    this.token = options.token
  }

  /**
   * Replaces the bearer token, e.g. after the user signed in again following
   * a `SharedSyncLogAuthError`. Used by every later request (and by `getToken`
   * clients instead of calling `getToken` until it is cleared with `undefined`).
   */
  setToken(token: string | undefined): void {
    if (token !== undefined && (typeof token !== 'string' || token === '')) {
      throw new SharedSyncLogHttpError('INVALID_ARGUMENT', 'setToken() needs a non-empty string (or undefined to go back to getToken).')
    }
    if (token === undefined && this.options.getToken === undefined) {
      throw new SharedSyncLogHttpError('INVALID_ARGUMENT', 'setToken(undefined) needs a `getToken` option to fall back to.')
    }
    this.token = token
  }

  async createDeviceId(options: { userId: UserId; sharedUntil?: number | null }): Promise<DeviceId> {
    validateUserId(options?.userId)
    const body: Record<string, unknown> = {}
    if (options?.sharedUntil !== undefined) body.sharedUntil = options.sharedUntil
    const result = await this.call<{ deviceId: DeviceId }>('createDevice', body)
    return result.deviceId
  }

  async getDeviceInfo(options: { userId: UserId; deviceId: DeviceId }): Promise<SharedSyncLogDeviceInfo | null> {
    validateUserId(options?.userId)
    const result = await this.call<{ device: SharedSyncLogDeviceInfo | null }>('deviceInfo', { deviceId: options.deviceId })
    return result.device
  }

  async writeEntries(
    entries: Array<SharedSyncLogEntryInput>,
    options: { userId: UserId; deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  ): Promise<void> {
    validateUserId(options?.userId)
    validateEntryInputs(entries)
    // Safe to retry: the log skips entries whose (device, createdOn) it already holds.
    const body: Record<string, unknown> = { deviceId: options.deviceId, entries }
    if (options.now !== undefined) body.now = options.now
    if (options.extraSentInfo !== undefined) body.extraSentInfo = options.extraSentInfo
    await this.call('writeEntries', body)
  }

  async getUnsyncedEntries(options: { userId: UserId; deviceId: DeviceId; batchSize?: number }): Promise<SharedSyncLogUpdate> {
    validateUserId(options?.userId)
    validateBatchSize(options.batchSize)
    const body: Record<string, unknown> = { deviceId: options.deviceId }
    if (options.batchSize !== undefined) body.batchSize = options.batchSize
    const update = await this.call<SharedSyncLogUpdate>('unsyncedEntries', body)
    if (update && typeof update === 'object' && update.remaining !== undefined && !(typeof update.remaining === 'number' && update.remaining >= 0)) {
      delete update.remaining // a server that cannot tell leaves it out; anything else is not a count
    }
    return update
  }

  /**
   * A page of a snapshot of the user's data from the server's replica
   * (`POST /v1/snapshot`), to bootstrap a device (see `SharedSyncLog`).
   * Throws `SharedSyncLogError` `SNAPSHOT_UNAVAILABLE` when the server keeps
   * no replica, also when it is older than this route.
   */
  async getSnapshotPage(options: { userId: UserId; deviceId: DeviceId; cursor?: string | null; limit?: number }): Promise<SharedSyncLogSnapshotPage> {
    validateUserId(options?.userId)
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 1)) {
      throw new SharedSyncLogError('INVALID_ARGUMENT', `limit must be a positive integer, got ${String(options.limit)}; leave it out for the server's page size`)
    }
    const body: Record<string, unknown> = { deviceId: options.deviceId }
    if (options.cursor !== undefined && options.cursor !== null) body.cursor = options.cursor
    if (options.limit !== undefined) body.limit = options.limit
    try {
      return await this.call<SharedSyncLogSnapshotPage>('snapshot', body)
    } catch (error) {
      if ((error as { code?: unknown })?.code === 'ROUTE_NOT_FOUND') throw SharedSyncLogError.snapshotUnavailable()
      throw error
    }
  }

  async markAsSeen(update: { memo: SharedSyncLogMemo }, options: { userId: UserId; deviceId: DeviceId; now?: Now }): Promise<void> {
    validateUserId(options?.userId)
    const body: Record<string, unknown> = { deviceId: options.deviceId, memo: update.memo ?? null }
    if (options.now !== undefined) body.now = options.now
    await this.call('markAsSeen', body)
  }

  /**
   * The server's write limits (`POST /v1/info`), reused for `limitsMaxAgeMs`.
   * A server without that route publishes none: `{}`.
   */
  async getLimits(): Promise<SharedSyncLogLimits> {
    const maxAge = this.options.limitsMaxAgeMs ?? 300_000
    if (this.limitsCache && Date.now() - this.limitsCache.at < maxAge) {
      return { ...this.limitsCache.limits }
    }
    const info = await this.readInfo()
    const limits: SharedSyncLogLimits = {}
    const raw = (info?.limits ?? {}) as Record<string, unknown>
    for (const key of ['maxEntriesPerWrite', 'maxWriteBytes'] as const) {
      const value = raw[key]
      if (typeof value === 'number' && Number.isFinite(value) && value >= 1) limits[key] = Math.floor(value)
    }
    if (limits.maxWriteBytes !== undefined) limits.sizeRule = 'json-utf8-v1'
    this.limitsCache = { limits, at: Date.now() }
    return { ...limits }
  }

  /** The server's wall clock (ms), corrected by half the round trip. */
  async getServerTime(): Promise<number> {
    const started = Date.now()
    const info = await this.readInfo()
    if (typeof info?.now !== 'number') {
      throw new SharedSyncLogHttpError('BAD_RESPONSE', `${this.baseUrl}${ROUTES.info} did not tell the server's time; update the server.`)
    }
    return info.now + (Date.now() - started) / 2
  }

  private async readInfo(): Promise<{ limits?: unknown; now?: unknown } | null> {
    try {
      return await this.call<{ limits?: unknown; now?: unknown }>('info', {})
    } catch (error) {
      const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown }
      if (code === 'ROUTE_NOT_FOUND' || status === 404 || status === 405) {
        return null // an older server (or a proxy that does not pass the route): no published limits
      }
      throw error
    }
  }

  /**
   * Live updates: keeps a Server-Sent Events stream open (`POST /v1/events`,
   * read with `fetch`, so the bearer token travels in a header as with every
   * other request; `EventSource` cannot send one) and calls `onChange` when
   * another device of the user wrote. Reconnects with backoff when the
   * connection drops. Returns a function that closes the stream.
   * With ContinuousSync: `subscribeToChanges: (onChange) => log.subscribe({ userId, deviceId, onChange })`.
   */
  subscribe(options: SubscribeOptions): () => void {
    return subscribeToLiveStream(
      {
        baseUrl: this.baseUrl,
        fetchImpl: this.fetchImpl,
        getToken: () => this.token ?? this.options.getToken!(),
        delayFor: (attempt) => this.delayFor(attempt),
      },
      options,
    )
  }

  private async call<T>(route: RouteName, body: unknown): Promise<T> {
    const path = ROUTES[route]
    const payload = JSON.stringify(body)
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.attempt<T>(path, payload)
      if ('value' in outcome) {
        return outcome.value
      }
      if (!outcome.retryable || attempt >= this.retries) {
        const { error } = outcome
        if (outcome.retryable && this.retries > 0 && error instanceof SharedSyncLogHttpError) {
          throw new SharedSyncLogHttpError(error.code, `${errorDetail(error)} (gave up after ${attempt + 1} attempts)`, {
            cause: error.cause ?? error,
            status: error.status,
          })
        }
        throw outcome.error
      }
      const delayMs = this.delayFor(attempt)
      this.options.onRetry?.({ route: path, attempt: attempt + 1, delayMs, error: outcome.error })
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }

  private delayFor(attempt: number): number {
    const { initialMs, maxMs, factor } = this.backoff
    const ceiling = Math.min(maxMs, initialMs * Math.pow(factor, attempt))
    // "Equal jitter": half fixed, half random, so clients that failed together spread out.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
  }

  private async attempt<T>(path: string, payload: string): Promise<{ value: T } | Attempt> {
    const url = this.baseUrl + path
    let token: string
    try {
      token = this.token ?? (await this.options.getToken!())
    } catch (cause) {
      return {
        retryable: false,
        error: new SharedSyncLogHttpError('NO_TOKEN', `getToken() failed, so no request was sent to ${url}; fix the token source.`, { cause }),
      }
    }
    if (typeof token !== 'string' || token === '') {
      return {
        retryable: false,
        error: new SharedSyncLogHttpError('NO_TOKEN', `no token to send to ${url}: \`token\`/\`getToken()\` gave ${token === '' ? 'an empty string' : typeof token}; pass a non-empty string.`),
      }
    }
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), this.timeoutMs)
    let response: Response
    let text: string
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, accept: 'application/json' },
        body: payload,
        signal: controller.signal,
      })
      text = await response.text()
    } catch (cause) {
      if (controller.signal.aborted) {
        return {
          retryable: true,
          error: new SharedSyncLogHttpError('TIMEOUT', `no answer from ${url} within ${this.timeoutMs} ms; the server may be overloaded, or raise \`timeoutMs\`.`, { cause }),
        }
      }
      return {
        retryable: true,
        error: new SharedSyncLogHttpError('NETWORK_ERROR', `could not reach the sync server at ${url} (${describeCause(cause)}); check that it runs and the URL is right.`, { cause }),
      }
    } finally {
      clearTimeout(timer)
    }

    let json: any
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch (cause) {
      json = undefined
    }
    if (response.ok) {
      if (json === undefined && response.status !== 204) {
        return {
          retryable: false,
          error: new SharedSyncLogHttpError('BAD_RESPONSE', `${url} answered ${response.status} without a JSON body; is the URL pointing at a storex-sync server?`, { status: response.status }),
        }
      }
      return { value: json as T }
    }
    const failure = readErrorAnswer(response, json, url)
    if (failure.error instanceof SharedSyncLogRefusalError) {
      // Refused for good: the limits may have changed; read them again before the next write.
      this.limitsCache = null
    }
    return failure
  }
}
