import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { ROUTES } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, PostgresSharedSyncLog, staticTokenAuthenticator, type CreateSyncServerOptions } from '../src/index'
import { TOKENS, tokenOf } from './helpers'
import { createPostgresDatabase, findPostgres } from './postgres-context'

const ALICE = tokenOf('alice')
const BOB = tokenOf('bob')
const postgres = await findPostgres('the PostgreSQL readiness and quota tests')
let pgDatabase: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined
afterAll(async () => {
  await pgDatabase?.drop()
})

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function server(options: Partial<CreateSyncServerOptions> = {}) {
  app = await createSyncServer({ sharedSyncLog: new MemorySharedSyncLog(), authenticate: staticTokenAuthenticator(TOKENS), logger: false, ...options })
  return app
}

function post(url: string, body: unknown, token: string | null = ALICE, headers: Record<string, string> = {}) {
  return app!.inject({
    method: 'POST',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  })
}

describe('health', () => {
  it('/healthz and /readyz answer without credentials; readyz checks the database (SQLite)', async () => {
    await server({ sharedSyncLog: undefined, database: ':memory:' })
    const health = await app!.inject({ method: 'GET', url: '/healthz' })
    expect([health.statusCode, health.json()]).toEqual([200, { status: 'ok' }])
    const ready = await app!.inject({ method: 'GET', url: '/readyz' })
    expect([ready.statusCode, ready.json()]).toEqual([200, { status: 'ready' }])
  })

  it.skipIf(!('url' in postgres))('readyz says 503 when PostgreSQL does not answer, and ready again once it does', async () => {
    pgDatabase ??= await createPostgresDatabase((postgres as { url: string }).url)
    const log = await PostgresSharedSyncLog.connect({ connectionString: pgDatabase.url, tablePrefix: 'ops_', poolSize: 2, connectionTimeoutMs: 500 })
    await server({ sharedSyncLog: log })
    expect((await app!.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    const original = log.ping.bind(log)
    log.ping = async () => {
      throw new Error('connect ECONNREFUSED')
    }
    const down = await app!.inject({ method: 'GET', url: '/readyz' })
    expect([down.statusCode, down.json().status]).toEqual([503, 'unavailable'])
    log.ping = original
    expect((await app!.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    await app!.close()
    app = undefined
    await log.close()
  })
})

describe('metrics', () => {
  it('counts requests by route and status, entries written and delivered, devices', async () => {
    await server()
    const writer = (await post(ROUTES.createDevice, {})).json().deviceId
    const reader = (await post(ROUTES.createDevice, {})).json().deviceId
    await post(ROUTES.writeEntries, { deviceId: writer, entries: [{ createdOn: 1, data: 'a' }, { createdOn: 2, data: 'b' }] })
    await post(ROUTES.unsyncedEntries, { deviceId: reader })
    await post(ROUTES.unsyncedEntries, { deviceId: reader }, 'a-wrong-token-0123456789-0123456789')
    const metrics = await app!.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.statusCode).toBe(200)
    const text = metrics.body
    expect(text).toMatch(/storex_sync_http_requests_total\{route="\/v1\/entries\/write",method="POST",status="200"\} 1/)
    expect(text).toMatch(/storex_sync_http_requests_total\{route="\/v1\/entries\/unsynced",method="POST",status="401"\} 1/)
    expect(text).toMatch(/storex_sync_http_request_duration_seconds_bucket\{le="0\.1",route="\/v1\/devices\/create",method="POST",status="200"\} 2/)
    expect(text).toMatch(/storex_sync_entries_written_total 2/)
    expect(text).toMatch(/storex_sync_entries_delivered_total 2/)
    expect(text).toMatch(/storex_sync_devices_created_total 2/)
    expect(text).toMatch(/storex_sync_process_resident_memory_bytes \d+/)
  })

  it('needs the metrics token when one is set', async () => {
    await server({ metrics: { token: 'metrics-token-0123456789-0123456789' } })
    expect((await app!.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401)
    const ok = await app!.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789-0123456789' } })
    expect(ok.statusCode).toBe(200)
  })
})

describe('rate limits', () => {
  it('limits one address before authentication (token guessing), with 429 and retry-after', async () => {
    await server({ rateLimit: { perAddressPerMinute: 5, perUserPerMinute: 0 } })
    const answers: number[] = []
    for (let i = 0; i < 8; i += 1) answers.push((await post(ROUTES.createDevice, {}, `guess-${i}-0123456789-0123456789-0123`)).statusCode)
    expect(answers).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
    const limited = await post(ROUTES.createDevice, {}, ALICE)
    expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'RATE_LIMITED'])
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('limits each user on its own', async () => {
    await server({ rateLimit: { perAddressPerMinute: 0, perUserPerMinute: 3 } })
    const alice = []
    for (let i = 0; i < 4; i += 1) alice.push((await post(ROUTES.createDevice, {}, ALICE)).statusCode)
    expect(alice).toEqual([200, 200, 200, 429])
    expect((await post(ROUTES.createDevice, {}, BOB)).statusCode).toBe(200)
    expect((await app!.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
  })
})

describe('quotas', () => {
  it('refuses devices beyond the quota with 429 and entries beyond it with 413 (SQLite)', async () => {
    await server({ sharedSyncLog: undefined, database: ':memory:', quotas: { maxDevicesPerUser: 2, maxEntriesPerUser: 3 } })
    const device = (await post(ROUTES.createDevice, {})).json().deviceId
    expect((await post(ROUTES.createDevice, {})).statusCode).toBe(200)
    const third = await post(ROUTES.createDevice, {})
    expect([third.statusCode, third.json().error.code]).toEqual([429, 'QUOTA_DEVICES'])
    expect((await post(ROUTES.createDevice, {}, BOB)).statusCode).toBe(200)
    expect((await post(ROUTES.writeEntries, { deviceId: device, entries: [{ createdOn: 1, data: 'a' }, { createdOn: 2, data: 'b' }] })).statusCode).toBe(200)
    const over = await post(ROUTES.writeEntries, { deviceId: device, entries: [{ createdOn: 3, data: 'c' }, { createdOn: 4, data: 'd' }] })
    expect([over.statusCode, over.json().error.code]).toEqual([413, 'QUOTA_ENTRIES'])
    expect(over.json().error.message).toMatch(/at most 3 per user/)
  })

  it('leaves the replica\'s own device out of a user\'s device count', async () => {
    await server({ sharedSyncLog: undefined, database: ':memory:', replica: { compactionIntervalMs: false }, quotas: { maxDevicesPerUser: 2, cacheMs: 0 } })
    const device = (await post(ROUTES.createDevice, {})).json().deviceId
    expect((await post(ROUTES.writeEntries, { deviceId: device, entries: [{ createdOn: 1, data: 'a' }] })).statusCode).toBe(200)
    await app!.syncReplicaIdle()
    // The replica caught up with alice, so the log now holds three devices of hers: her one, the replica's, and the next.
    const replicaDevice = await app!.syncReplica!.getDeviceId('alice')
    expect(replicaDevice).not.toBeNull()
    expect(replicaDevice).not.toEqual(device)
    expect((await post(ROUTES.createDevice, {})).statusCode).toBe(200)
    const third = await post(ROUTES.createDevice, {})
    expect([third.statusCode, third.json().error.code]).toEqual([429, 'QUOTA_DEVICES'])
    expect(third.json().error.message).toMatch(/already has 2 devices/)
  })

  it.skipIf(!('url' in postgres))('counts bytes of entry data on PostgreSQL (413 QUOTA_BYTES)', async () => {
    pgDatabase ??= await createPostgresDatabase((postgres as { url: string }).url)
    const log = await PostgresSharedSyncLog.connect({ connectionString: pgDatabase.url, tablePrefix: 'quota_', poolSize: 2 })
    try {
      await server({ sharedSyncLog: log, quotas: { maxBytesPerUser: 1000 } })
      const device = (await post(ROUTES.createDevice, {})).json().deviceId
      expect((await post(ROUTES.writeEntries, { deviceId: device, entries: [{ createdOn: 1, data: 'x'.repeat(600) }] })).statusCode).toBe(200)
      const over = await post(ROUTES.writeEntries, { deviceId: device, entries: [{ createdOn: 2, data: 'x'.repeat(600) }] })
      expect([over.statusCode, over.json().error.code]).toEqual([413, 'QUOTA_BYTES'])
      expect(await log.usage('alice')).toEqual({ devices: 1, entries: 1, bytes: 600 })
    } finally {
      await app?.close()
      app = undefined
      await log.close()
    }
  })
})

describe('CORS', () => {
  it('answers the preflight of a configured origin without credentials, and refuses other origins', async () => {
    await server({ cors: { origins: ['https://app.example.test'] } })
    const preflight = await app!.inject({
      method: 'OPTIONS',
      url: ROUTES.writeEntries,
      headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    expect(preflight.statusCode).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.test')
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/authorization/)
    const actual = await post(ROUTES.createDevice, {}, ALICE, { origin: 'https://app.example.test' })
    expect([actual.statusCode, actual.headers['access-control-allow-origin']]).toEqual([200, 'https://app.example.test'])
    const other = await post(ROUTES.createDevice, {}, ALICE, { origin: 'https://evil.test' })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('sends no CORS headers unless configured', async () => {
    await server()
    const response = await post(ROUTES.createDevice, {}, ALICE, { origin: 'https://app.example.test' })
    expect(response.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('device ids', () => {
  it('are random on both storages: consecutive ids tell nothing about how many devices exist', async () => {
    await server({ sharedSyncLog: undefined, database: ':memory:' })
    const sqliteIds = [(await post(ROUTES.createDevice, {})).json().deviceId, (await post(ROUTES.createDevice, {})).json().deviceId]
    expect(sqliteIds[0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(sqliteIds[0]).not.toBe(sqliteIds[1])
    if ('url' in postgres) {
      await app!.close()
      pgDatabase ??= await createPostgresDatabase(postgres.url)
      const log = await PostgresSharedSyncLog.connect({ connectionString: pgDatabase.url, tablePrefix: 'ids_', poolSize: 2 })
      try {
        const ids = [await log.createDeviceId({ userId: 'a' }), await log.createDeviceId({ userId: 'a' })] as number[]
        for (const id of ids) expect(id).toBeGreaterThan(2 ** 40)
        expect(Math.abs(ids[1]! - ids[0]!)).toBeGreaterThan(1000)
      } finally {
        await log.close()
      }
      app = undefined
    }
  })
})

describe('request timeout', () => {
  it('answers 408 and closes the connection when a client stalls its body', async () => {
    await server({ requestTimeoutMs: 500 })
    await app!.listen({ port: 0, host: '127.0.0.1' })
    const port = (app!.server.address() as { port: number }).port
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk))
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.write(`POST ${ROUTES.createDevice} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${ALICE}\r\ncontent-length: 20\r\n\r\n{`)
    const started = performance.now()
    await closed
    expect(performance.now() - started).toBeLessThan(3000)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
  })
})
