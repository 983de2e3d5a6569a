import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpSharedSyncLog, type RetryInfo } from '@storex-sync/shared-sync-log-http'
import { readAllFrom, startServer, tokenOf, type RunningServer } from './helpers'

let dir: string
let server: RunningServer | undefined
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storex-sync-restart-'))
})
afterEach(async () => {
  await server?.close()
  server = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('server restart in the middle of a sync (SQLite file)', () => {
  it('the client\'s retries finish the sync with nothing lost or doubled', async () => {
    const database = join(dir, 'sync.sqlite')
    server = await startServer({ database })
    const port = server.port
    const url = server.url
    let restarted: Promise<void> | undefined
    const restartAfter = (ms: number) => {
      restarted = (async () => {
        await server!.close()
        await new Promise((resolve) => setTimeout(resolve, ms))
        server = await startServer({ database, port })
      })()
    }

    // The first write reaches the server and is committed; then the server
    // stops before the device sees the answer, and comes back 400 ms later.
    let sabotage = true
    const fetchImpl: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (sabotage && String(input).endsWith('/v1/entries/write')) {
        sabotage = false
        await response.text()
        restartAfter(400)
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) })
      }
      return response
    }
    const retries: RetryInfo[] = []
    const options = { url, token: tokenOf(1), backoff: { initialMs: 50, maxMs: 200 }, retries: 10, onRetry: (r: RetryInfo) => retries.push(r) }
    const writerLog = new HttpSharedSyncLog({ ...options, fetch: fetchImpl })
    const readerLog = new HttpSharedSyncLog(options)
    const writer = await writerLog.createDeviceId({ userId: 1 })
    const reader = await readerLog.createDeviceId({ userId: 1 })

    // a sync of the writer: two batches, the first one interrupted
    await writerLog.writeEntries([1, 2, 3].map((n) => ({ createdOn: n, data: `e${n}` })), { userId: 1, deviceId: writer })
    await writerLog.writeEntries([4, 5].map((n) => ({ createdOn: n, data: `e${n}` })), { userId: 1, deviceId: writer })
    await restarted
    expect(retries.length).toBeGreaterThanOrEqual(2) // the lost answer, then at least one refused connection
    expect(retries.some((r) => r.error.code === 'NETWORK_ERROR' && /ECONNREFUSED/.test(r.error.message))).toBe(true)

    const received = await readAllFrom(readerLog, 1, reader, 2)
    expect(received.map((e) => e.data)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'])
  })

  it('a reader interrupted between read and markAsSeen gets the same entries again, and only once after', async () => {
    const database = join(dir, 'sync.sqlite')
    server = await startServer({ database })
    const port = server.port
    const log = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), backoff: { initialMs: 50, maxMs: 200 }, retries: 10 })
    const [writer, reader] = [await log.createDeviceId({ userId: 1 }), await log.createDeviceId({ userId: 1 })]
    await log.writeEntries([{ createdOn: 1, data: 'a' }, { createdOn: 2, data: 'b' }], { userId: 1, deviceId: writer })
    const first = await log.getUnsyncedEntries({ userId: 1, deviceId: reader })
    await server.close()
    const marking = log.markAsSeen(first, { userId: 1, deviceId: reader })
    await new Promise((resolve) => setTimeout(resolve, 300))
    server = await startServer({ database, port })
    await marking
    expect((await log.getUnsyncedEntries({ userId: 1, deviceId: reader })).entries).toEqual([])
    expect(first.entries.map((e) => e.data)).toEqual(['a', 'b'])
  })
})
