import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { createPostgresDatabase, findPostgres } from './postgres-context'
import { bundleAsPublished, runToExit, type ProcessRun } from './process-harness'

const postgres = await findPostgres('the command on PostgreSQL')

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)))
const buildDir = join(packageDir, '.test-build', `${process.pid}-${Date.now()}`)
const cli = join(buildDir, 'cli.js')
const device = join(buildDir, 'sync-device.js')
let dir: string
let tokenFile: string

const TOKENS = { 'alice-token-0123456789-0123456789': 'alice', 'bob-token-0123456789-0123456789-bob': 'bob' }

beforeAll(async () => {
  // The command and a client script, bundled as the published build bundles them
  // (workspace packages from source, npm dependencies external).
  await bundleAsPublished({ cli: join(packageDir, 'src/cli.ts'), 'sync-device': join(packageDir, 'test/fixtures/sync-device.ts') }, buildDir)
  dir = mkdtempSync(join(tmpdir(), 'storex-sync-cli-'))
  tokenFile = join(dir, 'tokens.json')
  writeFileSync(tokenFile, JSON.stringify(TOKENS))
}, 60_000)

afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true })
  rmSync(dir, { recursive: true, force: true })
})

function run(script: string, args: string[], timeoutMs = 15_000): Promise<ProcessRun> {
  return runToExit(script, args, { cwd: dir, timeoutMs })
}

/** Starts the server and resolves with its URL once it printed its status line. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; status: string; stop(): Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the server printed no status line within 15 s\n${stdout}\n${stderr}`))
    }, 15_000)
    child.stderr!.on('data', (chunk) => (stderr += chunk))
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match) {
        clearTimeout(timer)
        resolve({
          child,
          url: match[1]!,
          status: stdout.split('\n')[0]!,
          stop: () =>
            new Promise((done) => {
              child.on('exit', (code) => done(code))
              child.kill('SIGTERM')
            }),
        })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited with ${code}\n${stdout}\n${stderr}`))
    })
  })
}

async function takenPort(): Promise<{ port: number; release(): Promise<void> }> {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  const port = (blocker.address() as { port: number }).port
  return { port, release: () => new Promise((resolve) => blocker.close(() => resolve())) }
}

describe.concurrent('storex-sync-server (the command, in a child process)', () => {
  it('has a node shebang', async () => {
    const { readFileSync } = await import('node:fs')
    expect(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(statSync(cli).size).toBeGreaterThan(0)
  })

  it('prints its help text', async () => {
    const result = await run(cli, ['--help'])
    expect(result.code).toBe(0)
    for (const option of ['--port', '--database', '--auth', '--body-limit', 'postgres://']) {
      expect(result.stdout).toContain(option)
    }
  })

  it.each([
    [['--port', '80000', '--auth', 'x'], /--port: "80000" is not a whole number between 0 and 65535/],
    [['--auth', 'x', '--body-limit', 'huge'], /--body-limit: "huge" is not a size/],
    [['--port', '0'], /--auth is required/],
    [['--auth', 'x', '--verbose'], /Unknown option '--verbose'/],
  ])('refuses bad arguments with exit code 2: %j', async (args, message) => {
    const result = await run(cli, args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toContain('--help')
  })

  it.each([
    ['a bad database URL', ['--database', 'postgres://:5432'], /"postgres:\/\/:5432" is not a valid URL/],
    ['a URL without a database', ['--database', 'postgres://127.0.0.1:5432'], /names no database/],
    ['an unsupported scheme', ['--database', 'mysql://localhost/db'], /unsupported database URL scheme "mysql:\/\/"/],
    ['an unreachable database', ['--database', 'postgres://postgres:secret@127.0.0.1:1/sync'], /cannot use the PostgreSQL database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/sync \(ECONNREFUSED/],
    ['a missing directory', ['--database', '/nonexistent-dir/sync.sqlite'], /directory \/nonexistent-dir does not exist/],
  ])('explains start-up failures with exit code 1: %s', async (_name, args, message) => {
    const result = await run(cli, ['--auth', tokenFile, '--port', '0', ...args])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^storex-sync-server: could not start: /)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toMatch(/secret|\n\s+at /)
  })

  it('explains a missing or invalid token file', async () => {
    const missing = await run(cli, ['--auth', join(dir, 'nope.json'), '--database', ':memory:'])
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/cannot read the token file .*nope\.json/)])
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{"short": "alice"}')
    const invalid = await run(cli, ['--auth', bad, '--database', ':memory:'])
    expect([invalid.code, invalid.stderr]).toEqual([1, expect.stringMatching(/token shorter than 32 characters/)])
  })

  it('explains a port that is taken', async () => {
    const blocker = await takenPort()
    try {
      const result = await run(cli, ['--auth', tokenFile, '--database', ':memory:', '--port', String(blocker.port)])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`port ${blocker.port} on 127.0.0.1 is already in use; stop the other process or pick another --port`)
    } finally {
      await blocker.release()
    }
  })

  it('starts on an SQLite file with a status line; two devices in two processes sync through it', async () => {
    const database = join(dir, 'sync.sqlite')
    const server = await startCli(['--auth', tokenFile, '--database', database, '--port', '0'])
    try {
      expect(server.status).toMatch(/^storex-sync-server listening on http:\/\/127\.0\.0\.1:\d+ \| database: SQLite file .*sync\.sqlite \| auth: 2 tokens from tokens\.json \| body limit: 4194304 bytes$/)
      const [one, two] = await Promise.all([
        run(device, [server.url, 'alice-token-0123456789-0123456789', 'one', '3', '2']),
        run(device, [server.url, 'alice-token-0123456789-0123456789', 'two', '2', '3']),
      ])
      expect(one.stderr).toBe('')
      expect(two.stderr).toBe('')
      const resultOne = JSON.parse(one.stdout)
      const resultTwo = JSON.parse(two.stdout)
      expect(resultOne.deviceId).not.toBe(resultTwo.deviceId)
      expect(resultOne.received).toEqual(['two-1', 'two-2'])
      expect(resultTwo.received).toEqual(['one-1', 'one-2', 'one-3'])

      // bob, another user, sees none of it
      const bob = new HttpSharedSyncLog({ url: server.url, token: 'bob-token-0123456789-0123456789-bob' })
      const bobDevice = await bob.createDeviceId({ userId: 'bob' })
      expect((await bob.getUnsyncedEntries({ userId: 'bob', deviceId: bobDevice })).entries).toEqual([])
      expect(await bob.getDeviceInfo({ userId: 'bob', deviceId: resultOne.deviceId })).toBeNull()
    } finally {
      expect(await server.stop()).toBe(0)
    }
    // the data outlived the process
    const again = await startCli(['--auth', tokenFile, '--database', database, '--port', '0'])
    try {
      const alice = new HttpSharedSyncLog({ url: again.url, token: 'alice-token-0123456789-0123456789' })
      const late = await alice.createDeviceId({ userId: 'alice' })
      const update = await alice.getUnsyncedEntries({ userId: 'alice', deviceId: late })
      expect(update.entries.map((e) => e.data).sort()).toEqual(['one-1', 'one-2', 'one-3', 'two-1', 'two-2'])
    } finally {
      await again.stop()
    }
  })

  it.skipIf(!('url' in postgres))('starts on PostgreSQL with one command, and devices sync through it', async () => {
    const database = await createPostgresDatabase((postgres as { url: string }).url)
    try {
      const server = await startCli(['--auth', tokenFile, '--database', database.url, '--port', '0'])
      try {
        expect(server.status).toContain(`database: ${database.url}`)
        const [one, two] = await Promise.all([
          run(device, [server.url, 'bob-token-0123456789-0123456789-bob', 'one', '2', '1']),
          run(device, [server.url, 'bob-token-0123456789-0123456789-bob', 'two', '1', '2']),
        ])
        expect(JSON.parse(one.stdout).received).toEqual(['two-1'])
        expect(JSON.parse(two.stdout).received).toEqual(['one-1', 'one-2'])
      } finally {
        expect(await server.stop()).toBe(0)
      }
    } finally {
      await database.drop()
    }
  })
})
