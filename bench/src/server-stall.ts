/**
 * The server's SQLite mode under two users: while user "big" writes 10,000
 * entries in one request (the server's maximum) and then reads them back in
 * pages of 1,000 (its maximum page), user "small" keeps reading its own
 * log and writing single entries. Reports small's slowest read and write and the longest event-loop stall,
 * with 100,000 entries of other users already stored.
 *
 * Run: `pnpm --filter @storex-sync/bench run server-stall` (about 30 s).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import * as storex from '@worldbrain/storex'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { SharedSyncLogStorage } from '@storex-sync/shared-sync-log-storex'
import { openSqliteBackend } from '@storex-sync/storex-backend-sql'

const StorageManager = ((storex as any).default?.default ?? (storex as any).default ?? storex) as any

function entries(count: number, offset: number) {
  return Array.from({ length: count }, (_, i) => ({
    createdOn: offset + i + 1,
    data: JSON.stringify({ operation: 'create', collection: 'note', pk: `n${offset + i}`, value: { title: `Note ${offset + i}`, body: 'lorem ipsum '.repeat(8) } }),
  }))
}

export async function measureServerStall() {
  const dir = mkdtempSync(join(tmpdir(), 'storex-sync-stall-'))
  const backend = await openSqliteBackend({ filename: join(dir, 'server.sqlite'), autoPkType: 'int' })
  const storageManager = new StorageManager({ backend })
  const log = new SharedSyncLogStorage({ storageManager, autoPkType: 'int' })
  registerModuleMapCollections(storageManager.registry, { sharedSyncLog: log })
  await storageManager.finishInitialization()
  await backend.migrate()
  try {
    // Others' data first: 10 users with 10,000 entries each.
    for (let u = 0; u < 10; u++) {
      const deviceId = await log.createDeviceId({ userId: `other${u}` })
      await log.writeEntries(entries(10_000, 0), { userId: `other${u}`, deviceId })
    }
    const bigDevice = await log.createDeviceId({ userId: 'big' })
    const bigReader = await log.createDeviceId({ userId: 'big' })
    const smallDevice = await log.createDeviceId({ userId: 'small' })

    const smallReads: number[] = []
    const smallWrites: number[] = []
    let running = true
    let clock = 0
    const smallWriter = (async () => {
      while (running) {
        const started = performance.now()
        await log.writeEntries(entries(1, (clock += 1)), { userId: 'small', deviceId: smallDevice })
        smallWrites.push(performance.now() - started)
        await new Promise((resolve) => setTimeout(resolve, 3))
      }
    })()
    const small = (async () => {
      while (running) {
        const started = performance.now()
        await log.getUnsyncedEntries({ userId: 'small', deviceId: smallDevice, batchSize: 1000 })
        smallReads.push(performance.now() - started)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })()
    const histogram = monitorEventLoopDelay({ resolution: 1 })
    histogram.enable()
    const writeStarted = performance.now()
    await log.writeEntries(entries(10_000, 0), { userId: 'big', deviceId: bigDevice })
    const writeMs = performance.now() - writeStarted
    const readStarted = performance.now()
    let pages = 0
    for (;;) {
      const { entries: page, memo } = await log.getUnsyncedEntries({ userId: 'big', deviceId: bigReader, batchSize: 1000 })
      if (!page.length) break
      pages += 1
      await log.markAsSeen({ memo }, { userId: 'big', deviceId: bigReader })
    }
    const readMs = performance.now() - readStarted
    histogram.disable()
    running = false
    await small
    await smallWriter
    const emptyReadStarted = performance.now()
    for (let i = 0; i < 100; i++) await log.getUnsyncedEntries({ userId: 'small', deviceId: smallDevice, batchSize: 1000 })
    const emptyReadMs = (performance.now() - emptyReadStarted) / 100
    return {
      storedEntries: 110_000,
      bigWriteMs: writeMs,
      bigReadMs: readMs,
      bigPages: pages,
      smallReads: smallReads.length,
      smallSlowestReadMs: Math.max(...smallReads),
      smallWrites: smallWrites.length,
      smallSlowestWriteMs: Math.max(...smallWrites),
      longestEventLoopStallMs: histogram.max / 1e6,
      smallEmptyReadMs: emptyReadMs,
    }
  } finally {
    await backend.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  measureServerStall().then((result) => console.log(JSON.stringify(result, null, 2)))
}
