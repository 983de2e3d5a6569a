import { SharedSyncLogError, type DeviceId, type UserId } from '@storex-sync/shared-sync-log-core'
import { validateUserId } from '@storex-sync/shared-sync-log-core/implement'
import { SharedSyncLogAuthError, SharedSyncLogHttpError } from '../errors'
import { ROUTES } from './protocol'

export interface SubscribeOptions {
  userId: UserId
  deviceId: DeviceId
  /** Called when another device of the user wrote, and after each (re)connection (to catch up). */
  onChange: () => void
  /**
   * Called when the stream stops for good: a `SharedSyncLogAuthError` (401; call
   * `setToken()` and subscribe again) or an unknown device. Connection losses
   * are not reported here: the stream reconnects by itself, with backoff.
   */
  onError?: (error: SharedSyncLogHttpError | SharedSyncLogError) => void
  /** `connected` / `disconnected`, for a status display. */
  onStateChange?: (state: 'connected' | 'disconnected') => void
  /** Reconnect when nothing (not even a heartbeat) arrived for this long, in ms (default 60000). */
  idleTimeoutMs?: number
}

/** What the live stream borrows from its client. */
export interface LiveStreamContext {
  baseUrl: string
  fetchImpl: typeof globalThis.fetch
  getToken(): Promise<string> | string
  delayFor(attempt: number): number
}

/** The loop behind `HttpSharedSyncLog.subscribe()`: connect, read events, reconnect with backoff. */
export function subscribeToLiveStream(context: LiveStreamContext, options: SubscribeOptions): () => void {
  validateUserId(options?.userId)
  if (typeof options.onChange !== 'function') {
    throw new SharedSyncLogHttpError('INVALID_ARGUMENT', 'subscribe() needs an `onChange` function.')
  }
  let stopped = false
  let controller: AbortController | null = null
  let wake: (() => void) | null = null
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const url = context.baseUrl + ROUTES.events
  const payload = JSON.stringify({ deviceId: options.deviceId })
  const run = async () => {
    for (let failures = 0; !stopped; ) {
      controller = new AbortController()
      let idleTimer: ReturnType<typeof setTimeout> | null = null
      const resetIdle = () => {
        if (idleTimer) clearTimeout(idleTimer)
        idleTimer = setTimeout(() => controller?.abort(), idleTimeoutMs)
      }
      let connected = false
      try {
        const token = await context.getToken()
        resetIdle()
        const response = await context.fetchImpl(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, accept: 'text/event-stream' },
          body: payload,
          signal: controller.signal,
        })
        if (!response.ok || !response.body) {
          const text = await response.text().catch(() => '')
          let serverError: any = null
          try {
            serverError = JSON.parse(text).error
          } catch {
            // not JSON
          }
          if (response.status === 401) {
            throw Object.assign(
              new SharedSyncLogAuthError(`the sync server refused the credentials of the live stream: ${serverError?.message ?? 'the token was refused'}; sign in again and call setToken()`, { reason: serverError?.reason }),
              { fatal: true },
            )
          }
          if (response.status === 404 && serverError?.code === 'UNKNOWN_DEVICE') {
            throw Object.assign(new SharedSyncLogError('UNKNOWN_DEVICE', serverError.message), { fatal: true })
          }
          throw new SharedSyncLogHttpError(serverError?.code ?? 'HTTP_ERROR', `the live stream answered ${response.status}`, { status: response.status })
        }
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          resetIdle()
          buffer += decoder.decode(value, { stream: true })
          let boundary: number
          while ((boundary = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, boundary)
            buffer = buffer.slice(boundary + 2)
            const name = /^event: (.*)$/m.exec(event)?.[1]
            if (name === 'ready') {
              connected = true
              failures = 0
              options.onStateChange?.('connected')
              options.onChange()
            } else if (name === 'change') {
              options.onChange()
            }
          }
        }
      } catch (error) {
        if ((error as { fatal?: boolean }).fatal) {
          stopped = true
          options.onError?.(error as SharedSyncLogHttpError)
        }
      } finally {
        if (idleTimer) clearTimeout(idleTimer)
        controller?.abort()
        if (connected) options.onStateChange?.('disconnected')
      }
      if (stopped) break
      failures += 1
      const delayMs = context.delayFor(Math.min(failures, 8))
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(delayMs, 30_000))
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = null
    }
  }
  void run()
  return () => {
    stopped = true
    controller?.abort()
    ;(wake as (() => void) | null)?.()
  }
  }
