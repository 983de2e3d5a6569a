import { describe, expect, it } from 'vitest'
import { describeCompaction } from './internal/compaction-tests'
import { measureWriteBytes, readRefusal } from './limits'
import type { DeviceId, SharedSyncLog, SharedSyncLogEntry, SharedSyncLogEntryInput, SharedSyncLogUpdate, UserId } from './types'

export interface SharedSyncLogTestSetup {
  sharedSyncLog: SharedSyncLog
  /** Called after each test, also when it failed. */
  cleanup?: () => Promise<void>
  /**
   * The type of device ids the log hands out, if known: 'int' ids must be
   * integers, 'string' ids non-empty strings. Without it the suite only
   * checks that all ids have one type.
   */
  deviceIdType?: 'int' | 'string'
}

/**
 * The conformance suite for `SharedSyncLog` implementations, on vitest.
 * `setup` is called for every test and must return a log with no data in it.
 *
 * ```ts
 * import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
 * runSharedSyncLogTests('my log', async () => ({ sharedSyncLog: new MyLog(), cleanup: async () => {} }))
 * ```
 */
export function runSharedSyncLogTests(name: string, setup: () => Promise<SharedSyncLogTestSetup>): void {
  const withLog = (test: (context: SharedSyncLogTestSetup & { log: SharedSyncLog }) => Promise<void>) => async () => {
    const context = await setup()
    try {
      await test({ ...context, log: context.sharedSyncLog })
    } finally {
      await context.cleanup?.()
    }
  }

  const USER = 1
  const OTHER_USER = 2

  describe(`SharedSyncLog conformance: ${name}`, () => {
    describeCompaction(withLog, { user: USER, otherUser: OTHER_USER })
    describe('limits', () => {
      it('publishes limits it honours: a write of exactly maxWriteBytes passes, one byte more is refused for its size', withLog(async ({ log }) => {
        if (typeof log.getLimits !== 'function') {
          return // limits are optional
        }
        const limits = await log.getLimits()
        expect(limits.sizeRule === undefined || limits.sizeRule === 'json-utf8-v1').toBe(true)
        for (const key of ['maxEntriesPerWrite', 'maxWriteBytes'] as const) {
          if (limits[key] !== undefined) expect(limits[key]).toBeGreaterThan(0)
        }
        if (limits.maxWriteBytes === undefined || limits.maxWriteBytes > 8 * 1024 * 1024) {
          return
        }
        const writer = await log.createDeviceId({ userId: USER })
        const reader = await log.createDeviceId({ userId: USER })
        const options = { userId: USER, deviceId: writer, now: 1000 }
        const empty = measureWriteBytes([{ createdOn: 1, data: '' }], { deviceId: writer, now: 1000 })
        const fitting = { createdOn: 1, data: 'x'.repeat(limits.maxWriteBytes - empty) }
        expect(measureWriteBytes([fitting], { deviceId: writer, now: 1000 })).toBe(limits.maxWriteBytes)
        await log.writeEntries([fitting], options)
        const tooLarge = { createdOn: 2, data: 'y'.repeat(limits.maxWriteBytes - empty + 1) }
        const error = await log.writeEntries([tooLarge], options).then(() => null, (thrown: unknown) => thrown)
        expect(readRefusal(error)?.code).toBe('REQUEST_TOO_LARGE')
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries.map((entry) => entry.createdOn)).toEqual([1])
      }))
    })

    describe('devices', () => {
      it('hands out unique device ids of one type', withLog(async ({ log, deviceIdType }) => {
        const ids: DeviceId[] = []
        for (let i = 0; i < 4; i += 1) {
          ids.push(await log.createDeviceId({ userId: USER }))
        }
        ids.push(await log.createDeviceId({ userId: OTHER_USER }))
        expect(new Set(ids).size).toBe(ids.length)
        const types = new Set(ids.map((id) => typeof id))
        expect(types.size).toBe(1)
        for (const id of ids) {
          expect(['number', 'string']).toContain(typeof id)
          if (typeof id === 'string') expect(id.length).toBeGreaterThan(0)
          if (typeof id === 'number') expect(Number.isFinite(id)).toBe(true)
          if (deviceIdType === 'int') expect(Number.isInteger(id)).toBe(true)
          if (deviceIdType === 'string') expect(typeof id).toBe('string')
        }
      }))

      it('reports sharedUntil: as created, null by default, then the time of markAsSeen', withLog(async ({ log }) => {
        const withTime = await log.createDeviceId({ userId: USER, sharedUntil: 5 })
        const withoutTime = await log.createDeviceId({ userId: USER })
        const withNull = await log.createDeviceId({ userId: USER, sharedUntil: null })
        expect(await log.getDeviceInfo({ userId: USER, deviceId: withTime })).toEqual({ sharedUntil: 5 })
        expect(await log.getDeviceInfo({ userId: USER, deviceId: withoutTime })).toEqual({ sharedUntil: null })
        expect(await log.getDeviceInfo({ userId: USER, deviceId: withNull })).toEqual({ sharedUntil: null })

        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: withoutTime })
        await log.markAsSeen(update, { userId: USER, deviceId: withoutTime, now: 1_700_000_000_123 })
        expect(await log.getDeviceInfo({ userId: USER, deviceId: withoutTime })).toEqual({ sharedUntil: 1_700_000_000_123 })
        // other devices are untouched
        expect(await log.getDeviceInfo({ userId: USER, deviceId: withTime })).toEqual({ sharedUntil: 5 })

        const before = Date.now()
        await log.markAsSeen(update, { userId: USER, deviceId: withTime })
        const after = Date.now()
        const info = await log.getDeviceInfo({ userId: USER, deviceId: withTime })
        expect(info!.sharedUntil).toBeGreaterThanOrEqual(before)
        expect(info!.sharedUntil).toBeLessThanOrEqual(after)
      }))

      it('returns null for a device that does not exist', withLog(async ({ log }) => {
        const known = await log.createDeviceId({ userId: USER })
        expect(await log.getDeviceInfo({ userId: USER, deviceId: unknownDeviceId(known) })).toBeNull()
      }))

      it('throws UNKNOWN_DEVICE from writeEntries, getUnsyncedEntries and markAsSeen for an unknown device', withLog(async ({ log }) => {
        const known = await log.createDeviceId({ userId: USER })
        const unknown = unknownDeviceId(known)
        await expectUnknownDevice(log.writeEntries([entry(1, 'x')], { userId: USER, deviceId: unknown }))
        await expectUnknownDevice(log.getUnsyncedEntries({ userId: USER, deviceId: unknown }))
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: known })
        await expectUnknownDevice(log.markAsSeen(update, { userId: USER, deviceId: unknown }))
        // nothing was written by the failed call
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: known })).entries).toEqual([])
      }))
    })

    describe('writing and reading', () => {
      it('delivers entries of other devices in the order they were written, not by createdOn', withLog(async ({ log }) => {
        const [a, b, reader] = await devices(log, USER, 3)
        await log.writeEntries([entry(500, 'a-1'), entry(600, 'a-2')], { userId: USER, deviceId: a, now: 1000 })
        await log.writeEntries([entry(100, 'b-1')], { userId: USER, deviceId: b, now: 1001 })
        await log.writeEntries([entry(700, 'a-3')], { userId: USER, deviceId: a, now: 1002 })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries).toEqual([
          { userId: USER, deviceId: a, createdOn: 500, sharedOn: 1000, data: 'a-1' },
          { userId: USER, deviceId: a, createdOn: 600, sharedOn: 1000, data: 'a-2' },
          { userId: USER, deviceId: b, createdOn: 100, sharedOn: 1001, data: 'b-1' },
          { userId: USER, deviceId: a, createdOn: 700, sharedOn: 1002, data: 'a-3' },
        ])
        expect(update.hasMore).toBe(false)
      }))

      it('stamps sharedOn with the current time when no `now` is given', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const before = Date.now()
        await log.writeEntries([entry(1, 'x')], { userId: USER, deviceId: a })
        const after = Date.now()
        const [received] = (await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries
        expect(received!.sharedOn).toBeGreaterThanOrEqual(before)
        expect(received!.sharedOn).toBeLessThanOrEqual(after)
      }))

      it('does not consume entries on read: reading twice without markAsSeen gives the same entries', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([entry(1, 'x'), entry(2, 'y')], { userId: USER, deviceId: a, now: 5 })
        const first = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        const second = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(second.entries).toEqual(first.entries)
        expect(data(second.entries)).toEqual(['x', 'y'])
      }))

      it('accepts an empty write and returns an empty update when nothing is new', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([], { userId: USER, deviceId: a })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries).toEqual([])
        expect(update.hasMore).toBe(false)
        await log.markAsSeen(update, { userId: USER, deviceId: reader })
        await log.writeEntries([entry(1, 'x')], { userId: USER, deviceId: a })
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries)).toEqual(['x'])
      }))

      it('delivers an entry written after others were seen even when its createdOn is older', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([entry(4, 'joe-2'), entry(6, 'joe-3')], { userId: USER, deviceId: a })
        await markAll(log, USER, reader)
        await log.writeEntries([entry(1, 'joe-1')], { userId: USER, deviceId: a })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(data(update.entries)).toEqual(['joe-1'])
        await log.markAsSeen(update, { userId: USER, deviceId: reader })
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries).toEqual([])
      }))

      it('hands out copies: changing a received entry does not change the log', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const extraSentInfo = { tags: ['one'] }
        const written = [entry(1, 'x')]
        await log.writeEntries(written, { userId: USER, deviceId: a, extraSentInfo })
        extraSentInfo.tags.push('changed after write')
        written[0]!.data = 'changed after write'
        const first = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        ;(first.entries[0]!.extraSentInfo as { tags: string[] }).tags.push('changed after read')
        first.entries[0]!.data = 'changed after read'
        const second = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(second.entries[0]!.data).toBe('x')
        expect(second.entries[0]!.extraSentInfo).toEqual({ tags: ['one'] })
      }))
    })

    describe('pagination', () => {
      it('pages with batchSize, hasMore telling whether more entries wait', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([1, 2, 3, 4, 5].map((n) => entry(n, `e${n}`)), { userId: USER, deviceId: a })
        const pages: Array<{ data: string[]; hasMore: boolean }> = []
        for (let i = 0; i < 4; i += 1) {
          const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader, batchSize: 2 })
          pages.push({ data: data(update.entries), hasMore: update.hasMore })
          await log.markAsSeen(update, { userId: USER, deviceId: reader })
        }
        expect(pages).toEqual([
          { data: ['e1', 'e2'], hasMore: true },
          { data: ['e3', 'e4'], hasMore: true },
          { data: ['e5'], hasMore: false },
          { data: [], hasMore: false },
        ])
      }))

      it('says hasMore: false when the last page is exactly full', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([1, 2, 3, 4].map((n) => entry(n, `e${n}`)), { userId: USER, deviceId: a })
        const first = await log.getUnsyncedEntries({ userId: USER, deviceId: reader, batchSize: 2 })
        expect([data(first.entries), first.hasMore]).toEqual([['e1', 'e2'], true])
        await log.markAsSeen(first, { userId: USER, deviceId: reader })
        const second = await log.getUnsyncedEntries({ userId: USER, deviceId: reader, batchSize: 2 })
        expect([data(second.entries), second.hasMore]).toEqual([['e3', 'e4'], false])
        const single = await log.getUnsyncedEntries({ userId: USER, deviceId: reader, batchSize: 1 })
        expect([data(single.entries), single.hasMore]).toEqual([['e3'], true])
        const large = await log.getUnsyncedEntries({ userId: USER, deviceId: reader, batchSize: 100 })
        expect([data(large.entries), large.hasMore]).toEqual([['e3', 'e4'], false])
      }))

      it('counts only other devices\' entries in a page', withLog(async ({ log }) => {
        const [a, b] = await devices(log, USER, 2)
        await log.writeEntries([entry(1, 'a1')], { userId: USER, deviceId: a })
        await log.writeEntries([entry(1, 'b1')], { userId: USER, deviceId: b })
        await log.writeEntries([entry(2, 'a2'), entry(3, 'a3')], { userId: USER, deviceId: a })
        await log.writeEntries([entry(2, 'b2')], { userId: USER, deviceId: b })
        await log.writeEntries([entry(4, 'a4')], { userId: USER, deviceId: a })
        const first = await log.getUnsyncedEntries({ userId: USER, deviceId: a, batchSize: 1 })
        expect([data(first.entries), first.hasMore]).toEqual([['b1'], true])
        await log.markAsSeen(first, { userId: USER, deviceId: a })
        const second = await log.getUnsyncedEntries({ userId: USER, deviceId: a, batchSize: 1 })
        expect([data(second.entries), second.hasMore]).toEqual([['b2'], false])
        await log.markAsSeen(second, { userId: USER, deviceId: a })
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: a, batchSize: 1 })).entries).toEqual([])
      }))
    })

    describe('cursor', () => {
      it('still delivers an entry written between a read and its markAsSeen', withLog(async ({ log }) => {
        const [a, b, reader] = await devices(log, USER, 3)
        await log.writeEntries([entry(1, 'first')], { userId: USER, deviceId: a })
        const firstRead = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(data(firstRead.entries)).toEqual(['first'])
        await log.writeEntries([entry(2, 'second')], { userId: USER, deviceId: a })
        await log.writeEntries([entry(1, 'third')], { userId: USER, deviceId: b })
        await log.markAsSeen(firstRead, { userId: USER, deviceId: reader })
        const secondRead = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(data(secondRead.entries)).toEqual(['second', 'third'])
        await log.markAsSeen(secondRead, { userId: USER, deviceId: reader })
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries).toEqual([])
      }))

      it('never moves the cursor backwards when given an older memo', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([entry(1, 'first')], { userId: USER, deviceId: a })
        const firstRead = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        await log.markAsSeen(firstRead, { userId: USER, deviceId: reader })
        await log.writeEntries([entry(2, 'second')], { userId: USER, deviceId: a })
        const secondRead = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        await log.markAsSeen(secondRead, { userId: USER, deviceId: reader })
        await log.markAsSeen(firstRead, { userId: USER, deviceId: reader, now: 99 })
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries).toEqual([])
        await log.writeEntries([entry(3, 'third')], { userId: USER, deviceId: a })
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries)).toEqual(['third'])
      }))

      it('keeps a cursor per device', withLog(async ({ log }) => {
        const [a, b, c] = await devices(log, USER, 3)
        await log.writeEntries([entry(1, 'x')], { userId: USER, deviceId: a })
        await markAll(log, USER, b)
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: b })).entries).toEqual([])
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: c })).entries)).toEqual(['x'])
      }))

      it('refuses with INVALID_MEMO a memo it never handed out, and the cursor stays where it was', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([entry(1, 'first')], { userId: USER, deviceId: a })
        const forged: unknown[] = [{ sequence: 1e15 }, { sequence: 1e300 }, { sequence: -1 }, { sequence: 0.5 }, { sequence: '1' }, {}, null, 'a memo']
        for (const memo of forged) {
          const error = await log.markAsSeen({ memo }, { userId: USER, deviceId: reader }).then(() => null, (e) => e)
          expect(error?.code, `markAsSeen(${JSON.stringify(memo)})`).toBe('INVALID_MEMO')
        }
        await log.writeEntries([entry(2, 'second')], { userId: USER, deviceId: a })
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries)).toEqual(['first', 'second'])
      }))

      it('a memo of an empty read is accepted and loses nothing', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const empty = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        await log.writeEntries([entry(1, 'x')], { userId: USER, deviceId: a })
        await log.markAsSeen(empty, { userId: USER, deviceId: reader })
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries)).toEqual(['x'])
      }))
    })

    describe('own entries', () => {
      it('never returns a device\'s own entries', withLog(async ({ log }) => {
        const [a, b] = await devices(log, USER, 2)
        await log.writeEntries([entry(1, 'a1'), entry(2, 'a2')], { userId: USER, deviceId: a })
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: a })).entries).toEqual([])
        await log.writeEntries([entry(1, 'b1')], { userId: USER, deviceId: b })
        await log.writeEntries([entry(3, 'a3')], { userId: USER, deviceId: a })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: a })
        expect(data(update.entries)).toEqual(['b1'])
        await log.markAsSeen(update, { userId: USER, deviceId: a })
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: a })).entries).toEqual([])
        // the writer's own entries are still there for everyone else
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: b })).entries)).toEqual(['a1', 'a2', 'a3'])
      }))
    })

    describe('users', () => {
      it('keeps two users\' entries apart', withLog(async ({ log }) => {
        const [a, b] = await devices(log, USER, 2)
        const [c, d] = await devices(log, OTHER_USER, 2)
        await log.writeEntries([entry(1, 'user-1')], { userId: USER, deviceId: a })
        await log.writeEntries([entry(1, 'user-2')], { userId: OTHER_USER, deviceId: c })
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: b })).entries)).toEqual(['user-1'])
        const otherUpdate = await log.getUnsyncedEntries({ userId: OTHER_USER, deviceId: d })
        expect(otherUpdate.entries).toEqual([
          expect.objectContaining({ userId: OTHER_USER, deviceId: c, data: 'user-2' }),
        ])
        expect((await log.getUnsyncedEntries({ userId: OTHER_USER, deviceId: c })).entries).toEqual([])
        expect((await log.getUnsyncedEntries({ userId: USER, deviceId: a })).entries).toEqual([])
      }))

      it('treats another user\'s device exactly like a device that does not exist', withLog(async ({ log }) => {
        const [a, b] = await devices(log, USER, 2)
        const [c] = await devices(log, OTHER_USER, 1)
        const missing = unknownDeviceId(c)
        await log.writeEntries([entry(1, 'secret')], { userId: USER, deviceId: a })

        expect(await log.getDeviceInfo({ userId: OTHER_USER, deviceId: a })).toBeNull()
        expect(await log.getDeviceInfo({ userId: USER, deviceId: c })).toBeNull()

        const memo = (await log.getUnsyncedEntries({ userId: OTHER_USER, deviceId: c! })).memo
        const foreign = await collectErrors(log, OTHER_USER, a!, memo)
        const nonexistent = await collectErrors(log, OTHER_USER, missing, memo)
        for (let i = 0; i < foreign.length; i += 1) {
          expect(foreign[i]!.code).toBe('UNKNOWN_DEVICE')
          expect(nonexistent[i]!.code).toBe('UNKNOWN_DEVICE')
          expect(foreign[i]!.message.split(JSON.stringify(a)).join('<id>').split(String(a)).join('<id>')).toBe(
            nonexistent[i]!.message.split(JSON.stringify(missing)).join('<id>').split(String(missing)).join('<id>'),
          )
        }

        // the refused write left no trace in either user's log, the refused markAsSeen moved no cursor
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: b })).entries)).toEqual(['secret'])
        expect((await log.getUnsyncedEntries({ userId: OTHER_USER, deviceId: c })).entries).toEqual([])
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: a })).entries)).toEqual([])
      }))
    })

    describe('idempotent writes', () => {
      it('stores a batch written twice only once', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const batch = [entry(1, 'one'), entry(2, 'two')]
        await log.writeEntries(batch, { userId: USER, deviceId: a, now: 10 })
        await log.writeEntries(batch, { userId: USER, deviceId: a, now: 20 })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries.map((e) => [e.data, e.sharedOn])).toEqual([['one', 10], ['two', 10]])
      }))

      it('stores only the new entries of an overlapping batch, also after they were seen', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        await log.writeEntries([entry(1, 'one'), entry(2, 'two')], { userId: USER, deviceId: a })
        const first = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(data(first.entries)).toEqual(['one', 'two'])
        await log.markAsSeen(first, { userId: USER, deviceId: reader })
        await log.writeEntries([entry(2, 'two'), entry(3, 'three')], { userId: USER, deviceId: a })
        await log.writeEntries([entry(1, 'one'), entry(2, 'two'), entry(3, 'three')], { userId: USER, deviceId: a })
        const second = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(data(second.entries)).toEqual(['three'])
        const fresh = (await devices(log, USER, 1))[0]!
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: fresh })).entries)).toEqual(['one', 'two', 'three'])
      }))

      it('tells entries apart by device: the same createdOn from two devices is two entries', withLog(async ({ log }) => {
        const [a, b, reader] = await devices(log, USER, 3)
        await log.writeEntries([entry(1, 'from a')], { userId: USER, deviceId: a })
        await log.writeEntries([entry(1, 'from b')], { userId: USER, deviceId: b })
        expect(data((await log.getUnsyncedEntries({ userId: USER, deviceId: reader })).entries)).toEqual(['from a', 'from b'])
      }))
    })

    describe('extraSentInfo', () => {
      it('returns the batch\'s extraSentInfo on each of its entries', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const extraSentInfo = { app: 'memex', version: 3, nested: { list: [1, 'two', null], flag: false } }
        await log.writeEntries([entry(1, 'x'), entry(2, 'y')], { userId: USER, deviceId: a, extraSentInfo })
        await log.writeEntries([entry(3, 'z')], { userId: USER, deviceId: a })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries.map((e) => e.extraSentInfo)).toEqual([extraSentInfo, extraSentInfo, undefined])
        expect(update.entries[2]!.extraSentInfo).toBeUndefined()
      }))
    })

    describe('data', () => {
      it('returns data strings unchanged: empty, unicode, JSON-like, whitespace and ~1 MB', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const large = Array.from({ length: 1024 * 1024 }, (_, i) => String.fromCharCode(33 + (i % 90))).join('')
        const samples = [
          '',
          'héllo wörld – ünïcødé ✓ 中文字符 日本語 한국어 العربية 🌍🎉👩‍👩‍👧',
          '{"operation":"create","pk":"x\\"y","value":{"a":[1,2,{"b":null}]}}',
          "quotes ' \" ` and backslashes \\ \\\\ and %s %d ${x} $1 ?",
          '  leading and trailing spaces  \n\ttabs\r\nnewlines\n',
          large,
        ]
        await log.writeEntries(samples.map((sample, i) => entry(i + 1, sample)), { userId: USER, deviceId: a })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries.length).toBe(samples.length)
        update.entries.forEach((received, i) => {
          expect(received.data.length).toBe(samples[i]!.length)
          expect(received.data === samples[i]).toBe(true)
        })
      }))

      // Any clock value a device can issue (a safe integer up to a day ahead of now, as the sync
      // server checks it) comes back exactly; a log may refuse values no device can use.
      it('returns large createdOn values unchanged', withLog(async ({ log }) => {
        const [a, reader] = await devices(log, USER, 2)
        const createdOns = [1_700_000_000_000_123, (Date.now() + 3_600_000) * 1000 + 999, 0, 1]
        await log.writeEntries(createdOns.map((createdOn) => entry(createdOn, String(createdOn))), { userId: USER, deviceId: a })
        const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader })
        expect(update.entries.map((e) => e.createdOn)).toEqual(createdOns)
      }))
    })

    describe('concurrency', () => {
      it('delivers concurrent writes of several devices exactly once, in one order for every reader', withLog(async ({ log }) => {
        const writers = await devices(log, USER, 4)
        const readers = await devices(log, USER, 2)
        const batchesPerWriter = 3
        const entriesPerBatch = 5
        await Promise.all(
          writers.flatMap((writer, w) =>
            Array.from({ length: batchesPerWriter }, (_, batch) =>
              log.writeEntries(
                Array.from({ length: entriesPerBatch }, (_, i) => {
                  const n = batch * entriesPerBatch + i + 1
                  return entry(n, `w${w}-${n}`)
                }),
                { userId: USER, deviceId: writer },
              ),
            ),
          ),
        )
        const total = writers.length * batchesPerWriter * entriesPerBatch
        const orders: string[][] = []
        for (const reader of readers) {
          const received = await readAll(log, USER, reader, 7)
          const seen = data(received)
          expect(seen.length).toBe(total)
          expect(new Set(seen).size).toBe(total)
          // each batch arrives whole and in the order it was written
          writers.forEach((_, w) => {
            for (let batch = 0; batch < batchesPerWriter; batch += 1) {
              const first = seen.indexOf(`w${w}-${batch * entriesPerBatch + 1}`)
              const expected = Array.from({ length: entriesPerBatch }, (_, i) => `w${w}-${batch * entriesPerBatch + i + 1}`)
              expect(seen.slice(first, first + entriesPerBatch)).toEqual(expected)
            }
          })
          orders.push(seen)
        }
        expect(orders[1]).toEqual(orders[0])
        // a writer receives everyone else's entries, in the same order
        const writerView = data(await readAll(log, USER, writers[0]!, 10))
        expect(writerView).toEqual(orders[0]!.filter((d) => !d.startsWith('w0-')))
      }))

      it('loses nothing when a device reads while others write', withLog(async ({ log }) => {
        const writers = await devices(log, USER, 3)
        const [reader] = await devices(log, USER, 1)
        const received: string[] = []
        let writing = true
        const readLoop = (async () => {
          while (writing) {
            const update = await log.getUnsyncedEntries({ userId: USER, deviceId: reader!, batchSize: 3 })
            received.push(...data(update.entries))
            await log.markAsSeen(update, { userId: USER, deviceId: reader! })
            await new Promise((resolve) => setTimeout(resolve, 0))
          }
        })()
        await Promise.all(
          writers.map(async (writer, w) => {
            for (let n = 1; n <= 6; n += 1) {
              await log.writeEntries([entry(n, `w${w}-${n}`)], { userId: USER, deviceId: writer })
              await new Promise((resolve) => setTimeout(resolve, 0))
            }
          }),
        )
        writing = false
        await readLoop
        received.push(...data(await readAll(log, USER, reader!, 4)))
        expect(received.length).toBe(18)
        expect(new Set(received).size).toBe(18)
      }))
    })
  })
}

function entry(createdOn: number, data: string): SharedSyncLogEntryInput {
  return { createdOn, data }
}

function data(entries: SharedSyncLogEntry[]): string[] {
  return entries.map((e) => e.data)
}

async function devices(log: SharedSyncLog, userId: UserId, count: number): Promise<DeviceId[]> {
  const ids: DeviceId[] = []
  for (let i = 0; i < count; i += 1) {
    ids.push(await log.createDeviceId({ userId }))
  }
  return ids
}

/** A device id of the same type as `known` that no device has. */
function unknownDeviceId(known: DeviceId): DeviceId {
  return typeof known === 'number' ? known + 1_000_000 : `${known}-missing`
}

async function markAll(log: SharedSyncLog, userId: UserId, deviceId: DeviceId): Promise<void> {
  await readAll(log, userId, deviceId)
}

/** Reads and marks as seen until nothing is left; returns everything read. */
async function readAll(log: SharedSyncLog, userId: UserId, deviceId: DeviceId, batchSize?: number): Promise<SharedSyncLogEntry[]> {
  const all: SharedSyncLogEntry[] = []
  for (let round = 0; round < 10_000; round += 1) {
    const update: SharedSyncLogUpdate = await log.getUnsyncedEntries({ userId, deviceId, batchSize })
    all.push(...update.entries)
    await log.markAsSeen(update, { userId, deviceId })
    if (!update.hasMore) {
      return all
    }
    if (update.entries.length === 0) {
      throw new Error('getUnsyncedEntries() returned hasMore: true with an empty page')
    }
  }
  throw new Error('getUnsyncedEntries() kept returning hasMore: true')
}

async function expectUnknownDevice(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught as Error & { code?: string },
  )
  expect(error, 'expected the call to throw UNKNOWN_DEVICE').not.toBeNull()
  expect(error!.code).toBe('UNKNOWN_DEVICE')
  return error!
}

async function collectErrors(log: SharedSyncLog, userId: UserId, deviceId: DeviceId, memo: unknown) {
  return [
    await expectUnknownDevice(log.writeEntries([entry(99, 'intruder')], { userId, deviceId })),
    await expectUnknownDevice(log.getUnsyncedEntries({ userId, deviceId })),
    await expectUnknownDevice(log.markAsSeen({ memo }, { userId, deviceId })),
  ]
}
