import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { SignJWT } from 'jose'
import { HttpSharedSyncLog, SharedSyncLogAuthError } from '@storex-sync/shared-sync-log-http'
import { buildCli, startCli, type Harness } from './process-harness'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// The command in child processes: what only a real process shows (signals,
// what reaches stdout by default, surviving database connection loss).

const ALICE = 'alice-token-0123456789-0123456789-0123'
const postgres = await findPostgres('the PostgreSQL connection-loss test')
let harness: Harness

beforeAll(async () => {
  harness = await buildCli({ [ALICE]: 'alice' })
}, 60_000)
afterAll(() => harness?.cleanup())

describe('storex-sync-server as a process', () => {
  it('exits within a few seconds on SIGTERM while a client stalls a request body on a keep-alive connection', async () => {
    const server = await startCli(harness, ['--auth', harness.tokenFile, '--database', ':memory:', '--port', '0'])
    const { port, hostname } = new URL(server.url)
    const socket = connect(Number(port), hostname)
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    socket.on('error', () => {})
    // headers and the first byte of a 20-byte body, then nothing
    socket.write(`POST /v1/devices/create HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\ncontent-type: application/json\r\nauthorization: Bearer ${ALICE}\r\ncontent-length: 20\r\n\r\n{`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const started = Date.now()
    const code = await server.stop('SIGTERM')
    const took = Date.now() - started
    socket.destroy()
    expect(code).toBe(0)
    expect(took).toBeLessThan(5000)
  }, 20_000)

  it('logs a 500 by default as one JSON line naming the request id and the user, never the token', async () => {
    const database = join(harness.dir, 'broken.sqlite')
    const server = await startCli(harness, ['--auth', harness.tokenFile, '--database', database, '--port', '0'])
    try {
      const client = new HttpSharedSyncLog({ url: server.url, token: ALICE, retries: 0 })
      const deviceId = await client.createDeviceId({ userId: 'alice' })
      // break the storage under the running server: the entry table disappears
      const { default: Database } = await import('better-sqlite3' as string)
      const sqlite = new Database(database)
      const tables = sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%ntry%'`).all() as Array<{ name: string }>
      expect(tables.length).toBeGreaterThan(0)
      for (const { name } of tables) sqlite.exec(`DROP TABLE "${name}"`)
      sqlite.close()
      const error = await client.writeEntries([{ createdOn: 1, data: 'x' }], { userId: 'alice', deviceId }).catch((e) => e)
      expect(error.status).toBe(500)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const { stdout } = server.output()
      const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
      const logged = lines.find((line) => line.level === 50)
      expect(logged, stdout).toBeDefined()
      expect(logged.reqId).toEqual(expect.any(String))
      expect(logged.userId).toBe('alice')
      expect(logged.err?.message).toMatch(/no such table/i)
      expect(stdout).not.toContain(ALICE)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 30_000)

  it.skipIf(!('url' in postgres))('survives its PostgreSQL connections being terminated during writes, and later requests succeed', async () => {
    const database = await createPostgresDatabase((postgres as { url: string }).url)
    const admin = new pg.Client({ connectionString: (postgres as { url: string }).url })
    await admin.connect()
    try {
      const server = await startCli(harness, ['--auth', harness.tokenFile, '--database', database.url, '--port', '0'])
      try {
        const client = new HttpSharedSyncLog({ url: server.url, token: ALICE, retries: 10, backoff: { initialMs: 50, maxMs: 400 } })
        const writer = await client.createDeviceId({ userId: 'alice' })
        const reader = await client.createDeviceId({ userId: 'alice' })
        let killed = 0
        let writing = true
        const killer = (async () => {
          while (writing) {
            const result = await admin.query(
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
              [new URL(database.url).pathname.slice(1)],
            )
            killed += result.rowCount ?? 0
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
        })()
        const written: number[] = []
        try {
          for (let i = 1; i <= 40; i += 1) {
            await client.writeEntries([{ createdOn: i, data: `entry-${i}` }], { userId: 'alice', deviceId: writer })
            written.push(i)
          }
        } finally {
          writing = false
          await killer
        }
        expect(killed).toBeGreaterThan(0)
        expect(server.child.exitCode).toBeNull()
        // later requests succeed, and every write is stored exactly once
        const received: string[] = []
        for (let round = 0; round < 10; round += 1) {
          const update = await client.getUnsyncedEntries({ userId: 'alice', deviceId: reader })
          received.push(...update.entries.map((e) => e.data))
          await client.markAsSeen(update, { userId: 'alice', deviceId: reader })
          if (!update.hasMore) break
        }
        expect(received).toEqual(written.map((i) => `entry-${i}`))
        expect(server.output().stdout).toMatch(/database connection error|database unavailable/)
      } finally {
        const code = await server.stop()
        expect(code, JSON.stringify(server.output())).toBe(0)
      }
    } finally {
      await admin.end()
      await database.drop()
    }
  }, 60_000)

  it('--help shows a production set-up (JWT, PostgreSQL, TLS at a proxy, health, metrics, limits) and a development one', () => {
    const result = spawnSync(process.execPath, [harness.cli, '--help'], { encoding: 'utf8' })
    expect(result.status).toBe(0)
    for (const text of ['Production set-up', 'Development set-up', '--jwks-url', '--jwt-secret-file', '--jwt-issuer', '--jwt-audience', 'postgres://', 'reverse proxy', '--trust-proxy', '/healthz', '/readyz', '/metrics', '--rate-limit-user', '--max-devices-per-user', '--cors-origin']) {
      expect(result.stdout, text).toContain(text)
    }
  })

  it('runs with JWTs from a secret file, health without credentials and metrics behind their token', async () => {
    const secret = 'a-secret-of-at-least-thirty-two-bytes-0123456789'
    writeFileSync(join(harness.dir, 'jwt-secret'), secret + '\n')
    writeFileSync(join(harness.dir, 'metrics-token'), 'metrics-token-0123456789-0123456789\n')
    const server = await startCli(harness, [
      '--jwt-secret-file', join(harness.dir, 'jwt-secret'), '--jwt-issuer', 'https://auth.test/', '--jwt-audience', 'sync',
      '--database', ':memory:', '--port', '0', '--metrics-token-file', join(harness.dir, 'metrics-token'),
    ])
    try {
      expect(server.output().stdout).toMatch(/auth: JWT \(HS256 secret, iss https:\/\/auth\.test\/, aud sync, user from "sub"\)/)
      const sign = (exp: number) => new SignJWT({ sub: 'dora' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://auth.test/').setAudience('sync').setExpirationTime(exp).sign(new TextEncoder().encode(secret))
      const client = new HttpSharedSyncLog({ url: server.url, token: await sign(Math.floor(Date.now() / 1000) + 300), retries: 0 })
      expect(await client.createDeviceId({ userId: 'dora' })).toBeDefined()
      client.setToken(await sign(Math.floor(Date.now() / 1000) - 300))
      const error = await client.createDeviceId({ userId: 'dora' }).catch((e) => e)
      expect(error).toBeInstanceOf(SharedSyncLogAuthError)
      expect(error.reason).toBe('token_expired')
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401)
      const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789-0123456789' } })
      expect(await metrics.text()).toMatch(/storex_sync_devices_created_total 1/)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 30_000)
})
