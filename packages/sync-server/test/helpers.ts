import type { FastifyInstance } from 'fastify'
import {
  type DeviceId,
  type SharedSyncLog,
  type UserId,
} from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog, type HttpSharedSyncLogOptions } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, staticTokenAuthenticator, type CreateSyncServerOptions } from '../src/index'

export const TOKENS: Record<string, UserId> = {
  'token-of-user-one-0123456789-0123456789': 1,
  'token-of-user-two-0123456789-0123456789': 2,
  'token-of-alice-0123456789-0123456789': 'alice',
  'token-of-bob-0123456789-0123456789': 'bob',
}

export function tokenOf(userId: UserId): string {
  const token = Object.keys(TOKENS).find((t) => TOKENS[t] === userId)
  if (!token) throw new Error(`no test token for user ${userId}`)
  return token
}

export interface RunningServer {
  app: FastifyInstance
  url: string
  port: number
  close(): Promise<void>
}

/** A sync server on 127.0.0.1, on a random port (or the given one). */
export async function startServer(
  options: Partial<CreateSyncServerOptions> & { port?: number },
): Promise<RunningServer> {
  const { port = 0, ...rest } = options
  const app = await createSyncServer({ authenticate: staticTokenAuthenticator(TOKENS), ...rest })
  await app.listen({ port, host: '127.0.0.1' })
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  return { app, url: `http://127.0.0.1:${actualPort}`, port: actualPort, close: () => app.close() }
}

/**
 * One HTTP client per user, behind the SharedSyncLog interface: each call goes
 * out with the token of the user it names, as each user's devices would.
 */
export function perUserClient(url: string, options: Partial<HttpSharedSyncLogOptions> = {}): SharedSyncLog {
  const clients = new Map<UserId, HttpSharedSyncLog>()
  const clientFor = (userId: UserId) => {
    let client = clients.get(userId)
    if (!client) {
      // A user id no token names (e.g. the conformance suite's missing userId) gets a client the server
      // would refuse, so the client's own argument checks answer as they would for a real app.
      const token = Object.keys(TOKENS).find((t) => TOKENS[t] === userId) ?? 'token-of-nobody-0123456789-0123456789'
      client = new HttpSharedSyncLog({ url, token, retries: 0, ...options })
      clients.set(userId, client)
    }
    return client
  }
  return {
    createDeviceId: (o) => clientFor(o.userId).createDeviceId(o),
    getDeviceInfo: (o) => clientFor(o.userId).getDeviceInfo(o),
    writeEntries: (entries, o) => clientFor(o.userId).writeEntries(entries, o),
    getUnsyncedEntries: (o) => clientFor(o.userId).getUnsyncedEntries(o),
    markAsSeen: (update, o) => clientFor(o.userId).markAsSeen(update, o),
    getLimits: () => clientFor(1).getLimits(),
  }
}

export async function readAllFrom(log: SharedSyncLog, userId: UserId, deviceId: DeviceId, batchSize?: number) {
  const all = []
  for (let round = 0; round < 1000; round += 1) {
    const update = await log.getUnsyncedEntries({ userId, deviceId, batchSize })
    all.push(...update.entries)
    await log.markAsSeen(update, { userId, deviceId })
    if (!update.hasMore) return all
  }
  throw new Error('readAllFrom: too many pages')
}
