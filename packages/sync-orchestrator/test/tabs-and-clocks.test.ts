import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HLC_TICKS_PER_MS, type SyncChange } from '@storex-sync/client-sync-log'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { clientBackends } from '@storex-sync/test-backends'
import { ContinuousSync } from '@storex-sync/sync-orchestrator'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'
/** Backends whose database a second instance can open here (another tab, another process on one file, an app update). */
const localBackends = clientBackends.filter((backend) => backend.kind === 'indexeddb' || backend.kind === 'sqlite')
const DAY = 24 * 60 * 60 * 1000
const opened: TestDevice[] = []
const directories: string[] = []
afterEach(async () => {
  // Tabs first: the first instance's cleanup deletes the database.
  for (const device of opened.splice(0).reverse()) {
    await device.storage.cleanup()
  }
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

async function device(options: Parameters<typeof createTestDevice>[0]) {
  const created = await createTestDevice(options)
  opened.push(created)
  return created
}

/** A device and a second tab over its database (SQLite: two instances over one file, named alike as tabs are by IndexedDB). */
async function deviceWithTab(kind: (typeof localBackends)[number]['kind'], sharedSyncLog: MemorySharedSyncLog) {
  let database: string | undefined
  if (kind === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'storex-sync-tabs-'))
    directories.push(directory)
    database = join(directory, 'app.sqlite')
  }
  const first = await device({ name: 'tab1', kind, sharedSyncLog, userId: USER, startTime: 5_000, database, databaseName: database })
  const second = await device({ name: 'tab2', kind, sharedSyncLog, userId: USER, tabOf: first, databaseName: database })
  return [first, second] as const
}

async function sharedEntryCount(sharedSyncLog: MemorySharedSyncLog) {
  const observer = await sharedSyncLog.createDeviceId({ userId: USER })
  return (await sharedSyncLog.getUnsyncedEntries({ userId: USER, deviceId: observer })).entries.length
}

// Regression: two tabs kept their clocks in memory, issued the same createdOn,
// and on IndexedDB the second log entry overwrote the first: the other devices
// never received the first write.
describe.each(localBackends)('two tabs of one device on $kind', ({ kind }) => {
  it('never issue the same clock value in one millisecond, and every write reaches the other device', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const [tab1, tab2] = await deviceWithTab(kind, sharedSyncLog)
    const other = await device({ name: 'other', kind, sharedSyncLog, userId: USER })
    const notes = (tab: TestDevice) => tab.storageManager.collection('note')

    await notes(tab1).createObject({ title: 'tab 1, first' })
    await notes(tab2).createObject({ title: 'tab 2' })
    await notes(tab1).createObject({ title: 'tab 1, again' })
    for (let pair = 0; pair < 50; pair += 1) {
      await Promise.all([notes(tab1).createObject({ title: `pair ${pair} from tab 1` }), notes(tab2).createObject({ title: `pair ${pair} from tab 2` })])
    }

    const entries = await tab1.clientSyncLog.getEntries()
    expect(entries).toHaveLength(103)
    expect(new Set(entries.map((entry) => entry.createdOn)).size).toBe(103)
    expect(await tab2.clientSyncLog.getEntries()).toEqual(entries)
    // All in one millisecond: consecutive ticks of the hybrid logical clock.
    expect(entries.every((entry) => Math.floor(entry.createdOn / HLC_TICKS_PER_MS) === 5_000)).toBe(true)

    await tab2.sync()
    await other.sync()
    expect(await sharedEntryCount(sharedSyncLog)).toBe(103)
    expect((await other.contents())['note']).toHaveLength(103)
    expect(await other.contents()).toEqual(await tab1.contents())
  })

  it('sync one at a time, and a tab hears of the other tab’s writes and of what a sync applied', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const [tab1, tab2] = await deviceWithTab(kind, sharedSyncLog)
    const other = await device({ name: 'other', kind, sharedSyncLog, userId: USER })
    const heard: SyncChange[] = []
    const unsubscribe = tab2.clientSyncLog.onChange((change) => heard.push(change))

    await tab1.storageManager.collection('note').createObject({ title: 'from tab 1' })
    await other.storageManager.collection('note').createObject({ title: 'from elsewhere' })
    await other.sync()
    // Both tabs sync at once: one waits for the other, so the entry is received and applied once.
    const [first, second] = await Promise.all([tab1.sync(), tab2.sync()])
    expect(first.received.stored + second.received.stored).toBe(1)
    expect(first.sent.entries + second.sent.entries).toBe(1)
    await eventually(() => {
      expect(heard).toContainEqual({ kind: 'logged', entries: 1, collections: ['note'], origin: 'other-instance' })
      expect(heard.some((change) => change.kind === 'integrated')).toBe(true)
    })
    // A tab hears its own writes once, as local.
    heard.length = 0
    await tab2.storageManager.collection('note').createObject({ title: 'from tab 2' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(heard).toEqual([{ kind: 'logged', entries: 1, collections: ['note'], origin: 'local' }])
    unsubscribe()
    expect((await tab2.contents())['note']).toHaveLength(3)
  })

  it('a tab hears that the other tab sent its writes, so per-object sync state can follow without polling', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const [tab1, tab2] = await deviceWithTab(kind, sharedSyncLog)
    const { object } = await tab1.storageManager.collection('note').createObject({ title: 'not sent yet' })
    const unsent = async () => (await tab2.clientSyncLog.getObjectSyncStates({ collection: 'note' })).filter((state) => state.unsent)
    expect((await unsent()).map((state) => state.pk)).toEqual([object.id])
    const heard: SyncChange[] = []
    const unsubscribe = tab2.clientSyncLog.onChange((change) => heard.push(change))
    try {
      const result = await tab1.sync()
      expect(result.sent.entries).toBe(1)
      await eventually(() => expect(heard).toContainEqual({ kind: 'sent', entries: 1, collections: ['note'], origin: 'other-instance' }))
      expect(await unsent()).toEqual([])
      // A sync with nothing to send says nothing.
      heard.length = 0
      await tab1.sync()
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(heard.filter((change) => change.kind === 'sent')).toEqual([])
    } finally {
      unsubscribe()
    }
  })

  it('a ContinuousSync in one tab syncs the other tab’s write without waiting for its interval', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const [tab1, tab2] = await deviceWithTab(kind, sharedSyncLog)
    const continuous = new ContinuousSync({
      storageManager: tab2.storageManager,
      clientSyncLog: tab2.clientSyncLog,
      sharedSyncLog,
      reconciler: reconcileSyncLog,
      userId: USER,
      deviceId: tab2.deviceId,
      loggingMiddleware: tab2.logging,
      syncOnStart: false,
      intervalMs: 0,
      debounceMs: 10,
    })
    const reasons: string[] = []
    continuous.on('started', ({ reason }) => reasons.push(reason))
    continuous.start()
    try {
      await tab1.storageManager.collection('note').createObject({ title: 'written in tab 1' })
      await eventually(async () => expect(await sharedEntryCount(sharedSyncLog)).toBe(1))
      expect(reasons).toEqual(['local-write'])
    } finally {
      await continuous.stop()
    }
  })
})

// Regression: two instances over one SQLite file without a shared lock (two
// processes) read the same clock; the second batch failed with a UNIQUE
// violation. The write is now retried on the moved clock.
describe('two instances over one SQLite file without a shared lock', () => {
  it('retries a write whose clock value another instance took meanwhile, losing nothing', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'storex-sync-processes-'))
    directories.push(directory)
    const database = join(directory, 'app.sqlite')
    const sharedSyncLog = new MemorySharedSyncLog()
    const first = await device({ name: 'p1', kind: 'sqlite', sharedSyncLog, userId: USER, database, startTime: 7_000 })
    const second = await device({ name: 'p2', kind: 'sqlite', sharedSyncLog, userId: USER, tabOf: first })
    // Between the first instance's clock read and its batch, the second one writes.
    let interleaved = false
    first.storageManager.setMiddleware([
      ...(first.storageManager as any)._middleware.slice().reverse(),
      {
        process: async (context: any) => {
          if (!interleaved && context.operation[0] === 'executeBatch') {
            interleaved = true
            await second.storageManager.collection('note').createObject({ title: 'from the other process' })
          }
          return context.next.process(context)
        },
      },
    ])
    await first.storageManager.collection('note').createObject({ title: 'from the first process' })
    expect(interleaved).toBe(true)
    const entries = await first.clientSyncLog.getEntries()
    expect(entries.map((entry) => (entry as { value?: { title?: string } }).value?.title).sort()).toEqual([
      'from the first process',
      'from the other process',
    ])
    expect(new Set(entries.map((entry) => entry.createdOn)).size).toBe(2)
    expect((await first.contents())['note']).toHaveLength(2)
  })
})

// Regression: one entry with createdOn 2^53 (or far in the future) made every
// receiver's clock repeat one value: SQLite failed every later write, IndexedDB
// overwrote log entries.
describe.each(clientBackends)('entries from a broken clock, received on $kind', ({ kind }) => {
  it('are quarantined without moving the clock; local writes go on; a day ahead is applied once the clock caught up', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const now = Date.UTC(2026, 10, 30)
    const a = await device({ name: 'a', kind, sharedSyncLog, userId: USER, startTime: now })
    const b = await device({ name: 'b', kind, sharedSyncLog, userId: USER, startTime: now })
    const rogue = await sharedSyncLog.createDeviceId({ userId: USER })
    const create = (title: string) => JSON.stringify({ operation: 'create', collection: 'note', pk: `rogue-${title}`, value: { title } })
    const twoDaysAhead = (now + 2 * DAY) * HLC_TICKS_PER_MS
    await sharedSyncLog.writeEntries(
      [
        { createdOn: 2 ** 53, data: create('2^53') },
        { createdOn: twoDaysAhead, data: create('two days ahead') },
        { createdOn: -5, data: create('negative') },
        { createdOn: 1.5, data: create('fractional') },
      ],
      { userId: USER, deviceId: rogue },
    )

    const result = await b.sync()
    expect(result.quarantined.map((entry) => entry.reason)).toEqual(Array(4).fill('CLOCK_OUT_OF_RANGE'))
    expect(b.clientSyncLog.clock.current).toBeLessThan(twoDaysAhead)
    for (const title of ['one', 'two', 'three']) {
      await b.storageManager.collection('note').createObject({ title })
    }
    expect(new Set((await b.clientSyncLog.getEntries()).map((entry) => entry.createdOn)).size).toBe(3)
    await b.sync()
    await a.sync()
    expect((await a.contents())['note']!.map((note) => note['title']).sort()).toEqual(['one', 'three', 'two'])
    expect((await a.clientSyncLog.getQuarantinedEntries()).map((entry) => entry.reason)).toEqual(Array(4).fill('CLOCK_OUT_OF_RANGE'))

    // Two days later the entry that was a day too far ahead is taken back and applied; the broken ones stay aside.
    b.clock.now = now + 2 * DAY
    const later = await b.sync()
    expect(later.integrated.entries).toBe(1)
    expect((await b.contents())['note']!.map((note) => note['title']).sort()).toEqual(['one', 'three', 'two', 'two days ahead'])
    expect((await b.clientSyncLog.getQuarantinedEntries()).map((entry) => entry.createdOn).sort()).toEqual([-5, 1.5, 2 ** 53].sort())
  })

  it('a log poisoned before this check (an entry at 2^53) does not stop local writes', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const b = await device({ name: 'b', kind, sharedSyncLog, userId: USER, startTime: Date.UTC(2026, 10, 30) })
    await b.storageManager.collection('clientSyncLogEntry').createObject({
      id: JSON.stringify(['rogue', 2 ** 53]),
      createdOn: 2 ** 53,
      unshared: 0,
      needsIntegration: 0,
      deviceId: 'rogue',
      collection: 'note',
      objectKey: JSON.stringify(['note', 'poison']),
      pk: 'poison',
      operation: 'delete',
    })
    for (const title of ['one', 'two', 'three']) {
      await b.storageManager.collection('note').createObject({ title })
    }
    const own = (await b.clientSyncLog.getEntries()).filter((entry) => entry.deviceId === b.deviceId)
    expect(own).toHaveLength(3)
    expect(new Set(own.map((entry) => entry.createdOn)).size).toBe(3)
  })
})

describe('the clock', () => {
  it('throws CLOCK_EXHAUSTED rather than issue a value twice', async () => {
    const { HybridLogicalClock } = await import('@storex-sync/client-sync-log')
    const clock = new HybridLogicalClock({ latest: Number.MAX_SAFE_INTEGER - 1 })
    expect(clock.next(0)).toBe(Number.MAX_SAFE_INTEGER)
    expect(() => clock.next(0)).toThrow(expect.objectContaining({ code: 'CLOCK_EXHAUSTED' }))
    expect(clock.current).toBe(Number.MAX_SAFE_INTEGER)
  })
})

describe.each(clientBackends)('the app’s own onEntriesLogged listener on $kind', ({ kind }) => {
  it('stays when a ContinuousSync starts and stops', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await device({ name: 'a', kind, sharedSyncLog, userId: USER })
    const heard: number[] = []
    a.logging.onEntriesLogged(({ entries }) => heard.push(entries))
    const continuous = new ContinuousSync({
      storageManager: a.storageManager,
      clientSyncLog: a.clientSyncLog,
      sharedSyncLog,
      reconciler: reconcileSyncLog,
      userId: USER,
      deviceId: a.deviceId,
      loggingMiddleware: a.logging,
      syncOnStart: false,
      intervalMs: 0,
      debounceMs: 5,
    })
    continuous.start()
    await a.storageManager.collection('note').createObject({ title: 'while running' })
    await continuous.stop()
    await a.storageManager.collection('note').createObject({ title: 'after stop' })
    expect(heard).toEqual([1, 1])
  })
})

async function eventually(check: () => void | Promise<void>, timeoutMs = 3_000) {
  const started = Date.now()
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}
