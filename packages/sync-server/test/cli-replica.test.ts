import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import type { SharedSyncLogEntryData } from '@storex-sync/shared-sync-log-core'
import { runCompactCommand } from '../src/internal/cli-compact'
import { createSyncServer, staticTokenAuthenticator } from '../src/index'
import { bundleAsPublished, runToExit, type ProcessRun } from './process-harness'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// `storex-sync-server --replica` and `storex-sync-server compact`, bundled as published, in child processes.
const postgres = await findPostgres('the compact command on PostgreSQL')
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)))
const buildDir = join(packageDir, '.test-build', `replica-${process.pid}-${Date.now()}`)
const cli = join(buildDir, 'cli.js')
const TOKENS = { 'alice-token-0123456789-0123456789': 'alice' }
const ALICE = Object.keys(TOKENS)[0]!
let dir: string
let tokenFile: string

beforeAll(async () => {
  await bundleAsPublished({ cli: join(packageDir, 'src/cli.ts') }, buildDir)
  dir = mkdtempSync(join(tmpdir(), 'storex-sync-replica-cli-'))
  tokenFile = join(dir, 'tokens.json')
  writeFileSync(tokenFile, JSON.stringify(TOKENS))
}, 60_000)
afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true })
  rmSync(dir, { recursive: true, force: true })
})

function run(args: string[], timeoutMs = 20_000): Promise<ProcessRun> {
  return runToExit(cli, args, { cwd: dir, timeoutMs })
}

function serve(args: string[]): Promise<{ url: string; status: string; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '--auth', tokenFile, '--port', '0', ...args], { cwd: dir })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match) {
        resolve({
          url: match[1]!,
          status: stdout.split('\n')[0]!,
          stop: () => new Promise((done) => {
            child.on('exit', () => done())
            child.kill('SIGTERM')
          }),
        })
      }
    })
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}\n${stdout}\n${stderr}`)))
  })
}

const note = (pk: string) => JSON.stringify({ operation: 'create', collection: 'note', pk, value: { title: pk } } satisfies SharedSyncLogEntryData)

/** Alice's phone writes three notes and reads; her laptop stays silent. */
async function writeThreeNotes(url: string) {
  const alice = new HttpSharedSyncLog({ url, token: ALICE, retries: 0 })
  const phone = await alice.createDeviceId({ userId: 'alice' })
  const laptop = await alice.createDeviceId({ userId: 'alice' })
  await alice.writeEntries(['a', 'b', 'c'].map((pk, index) => ({ createdOn: index + 1, data: note(pk) })), { userId: 'alice', deviceId: phone })
  await alice.markAsSeen(await alice.getUnsyncedEntries({ userId: 'alice', deviceId: phone }), { userId: 'alice', deviceId: phone })
  return { alice, phone, laptop }
}

describe('storex-sync-server --replica and compact (child processes)', () => {
  it('on an SQLite file: serves snapshots; compact (server stopped) prints a line per user, deletes the rows, retires the silent device', async () => {
    const database = join(dir, 'replica.sqlite')
    const server = await serve(['--database', database, '--replica', '--compaction-interval', '0'])
    expect(server.status).toMatch(/\| replica: SQLite file .*replica\.sqlite \(with the log\), retention 30d, no scheduled compaction$/)
    const { alice, laptop } = await writeThreeNotes(server.url)
    const page = await alice.getSnapshotPage({ userId: 'alice', deviceId: laptop })
    expect(page.objects.map((object) => object.pk)).toEqual(['a', 'b', 'c'])
    await server.stop()

    const result = await run(['compact', '--database', database, '--retention', '1ms'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^storex-sync-server compact \| database: SQLite file .* \| replica: .* \| retention: 1ms$/)
    expect(lines[1]).toBe('user 1/1 (alice) done | 3 entries deleted so far | 1 device retired so far')
    expect(lines[2]).toMatch(/^compaction done in \d+\.\d s: 1 user, 3 entries deleted, 1 device retired, 0 failed$/)
    const { default: Database } = (await import('better-sqlite3' as string)) as { default: new (file: string, options: object) => any }
    const sqlite = new Database(database, { readonly: true })
    try {
      expect(sqlite.prepare('SELECT count(*) AS n FROM "sharedSyncLogEntry"').get()).toEqual({ n: 0 })
    } finally {
      sqlite.close()
    }

    const again = await serve(['--database', database, '--replica'])
    try {
      const client = new HttpSharedSyncLog({ url: again.url, token: ALICE, retries: 0 })
      await expect(client.getUnsyncedEntries({ userId: 'alice', deviceId: laptop })).rejects.toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
      expect((await client.getSnapshotPage({ userId: 'alice', deviceId: laptop })).totals).toMatchObject({ objects: 3, entries: 3 })
    } finally {
      await again.stop()
    }
  }, 60_000)

  it.skipIf(!('url' in postgres))('on PostgreSQL: compact runs beside a running server and deletes the rows', async () => {
    const database = await createPostgresDatabase((postgres as { url: string }).url)
    try {
      const server = await serve(['--database', database.url, '--replica'])
      try {
        expect(server.status).toMatch(/\| replica: postgres:\/\/.*, retention 30d, compaction every 1h$/)
        const { alice, laptop } = await writeThreeNotes(server.url)
        // The first snapshot page catches the replica up: from then on it knows alice (the catch-up after writes runs in the background).
        await alice.getSnapshotPage({ userId: 'alice', deviceId: laptop })
        const result = await run(['compact', '--database', database.url, '--retention', '1ms'])
        expect(result.code).toBe(0)
        expect(result.stdout).toMatch(/compaction done in \d+\.\d s: 1 user, 3 entries deleted, 1 device retired, 0 failed/)
        const client = new pg.Client({ connectionString: database.url })
        await client.connect()
        try {
          expect((await client.query('SELECT count(*)::int AS n FROM storex_sync_entry')).rows[0].n).toBe(0)
        } finally {
          await client.end()
        }
      } finally {
        await server.stop()
      }
    } finally {
      await database.drop()
    }
  }, 60_000)

  it.each([
    [['compact', '--retention', '5x'], /--retention: "5x" is not a duration/],
    [['compact', '--auth', 'x'], /Unknown option '--auth'/],
    [['--auth', 'x', '--retention', '1d'], /--retention needs --replica/],
  ])('refuses bad arguments with exit code 2: %j', async (args, message) => {
    const result = await run(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
  })

  it('compact --help explains the command', async () => {
    const result = await run(['compact', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--retention <duration>')
  })
})

describe('storex-sync-server compact on a terminal', () => {
  it('redraws one progress bar: users done of total, entries deleted', async () => {
    const database = join(mkdtempSync(join(tmpdir(), 'storex-sync-bar-')), 'bar.sqlite')
    const app = await createSyncServer({ database, authenticate: staticTokenAuthenticator(TOKENS), replica: { compactionIntervalMs: false } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    await writeThreeNotes(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`)
    await app.syncReplicaIdle()
    await app.close()
    let output = ''
    const code = await runCompactCommand(['--database', database, '--retention', '1ms'], { out: (text) => (output += text), err: () => {}, isTTY: true }, (message) => new Error(message))
    expect(code).toBe(0)
    expect(output).toContain('\r[##############################] 1/1 users | 3 entries deleted | 1 device retired\x1b[K\n')
    rmSync(dirname(database), { recursive: true, force: true })
  })
})
