import { describe, expect, it } from 'vitest'
import { data, devices, entry, markAll, type WithLog } from './conformance-helpers'

/** Conformance cases: what a device reads, in which order and pages, and where its cursor stands. */
export function describeReading(withLog: WithLog): void {
  describe('writing and reading', () => {
    it('delivers entries of other devices in the order they were written, not by createdOn', withLog(async ({ log, user }) => {
      const [a, b, reader] = await devices(log, user, 3)
      await log.writeEntries([entry(500, 'a-1'), entry(600, 'a-2')], { userId: user, deviceId: a, now: 1000 })
      await log.writeEntries([entry(100, 'b-1')], { userId: user, deviceId: b, now: 1001 })
      await log.writeEntries([entry(700, 'a-3')], { userId: user, deviceId: a, now: 1002 })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries).toEqual([
        { userId: user, deviceId: a, createdOn: 500, sharedOn: 1000, data: 'a-1' },
        { userId: user, deviceId: a, createdOn: 600, sharedOn: 1000, data: 'a-2' },
        { userId: user, deviceId: b, createdOn: 100, sharedOn: 1001, data: 'b-1' },
        { userId: user, deviceId: a, createdOn: 700, sharedOn: 1002, data: 'a-3' },
      ])
      expect(update.hasMore).toBe(false)
    }))

    it('stamps sharedOn with the current time when no `now` is given', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const before = Date.now()
      await log.writeEntries([entry(1, 'x')], { userId: user, deviceId: a })
      const after = Date.now()
      const [received] = (await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries
      expect(received!.sharedOn).toBeGreaterThanOrEqual(before)
      expect(received!.sharedOn).toBeLessThanOrEqual(after)
    }))

    it('does not consume entries on read: reading twice without markAsSeen gives the same entries', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'x'), entry(2, 'y')], { userId: user, deviceId: a, now: 5 })
      const first = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      const second = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(second.entries).toEqual(first.entries)
      expect(data(second.entries)).toEqual(['x', 'y'])
    }))

    it('accepts an empty write and returns an empty update when nothing is new', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([], { userId: user, deviceId: a })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries).toEqual([])
      expect(update.hasMore).toBe(false)
      await log.markAsSeen(update, { userId: user, deviceId: reader })
      await log.writeEntries([entry(1, 'x')], { userId: user, deviceId: a })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries)).toEqual(['x'])
    }))

    it('delivers an entry written after others were seen even when its createdOn is older', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([entry(4, 'joe-2'), entry(6, 'joe-3')], { userId: user, deviceId: a })
      await markAll(log, user, reader)
      await log.writeEntries([entry(1, 'joe-1')], { userId: user, deviceId: a })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(data(update.entries)).toEqual(['joe-1'])
      await log.markAsSeen(update, { userId: user, deviceId: reader })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries).toEqual([])
    }))

    it('hands out copies: changing a received entry does not change the log', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const extraSentInfo = { tags: ['one'] }
      const written = [entry(1, 'x')]
      await log.writeEntries(written, { userId: user, deviceId: a, extraSentInfo })
      extraSentInfo.tags.push('changed after write')
      written[0]!.data = 'changed after write'
      const first = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      ;(first.entries[0]!.extraSentInfo as { tags: string[] }).tags.push('changed after read')
      first.entries[0]!.data = 'changed after read'
      const second = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(second.entries[0]!.data).toBe('x')
      expect(second.entries[0]!.extraSentInfo).toEqual({ tags: ['one'] })
    }))
  })


  describe('pagination', () => {
    it('pages with batchSize, hasMore telling whether more entries wait', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([1, 2, 3, 4, 5].map((n) => entry(n, `e${n}`)), { userId: user, deviceId: a })
      const pages: Array<{ data: string[]; hasMore: boolean }> = []
      for (let i = 0; i < 4; i += 1) {
        const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader, batchSize: 2 })
        pages.push({ data: data(update.entries), hasMore: update.hasMore })
        await log.markAsSeen(update, { userId: user, deviceId: reader })
      }
      expect(pages).toEqual([
        { data: ['e1', 'e2'], hasMore: true },
        { data: ['e3', 'e4'], hasMore: true },
        { data: ['e5'], hasMore: false },
        { data: [], hasMore: false },
      ])
    }))

    it('says hasMore: false when the last page is exactly full', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([1, 2, 3, 4].map((n) => entry(n, `e${n}`)), { userId: user, deviceId: a })
      const first = await log.getUnsyncedEntries({ userId: user, deviceId: reader, batchSize: 2 })
      expect([data(first.entries), first.hasMore]).toEqual([['e1', 'e2'], true])
      await log.markAsSeen(first, { userId: user, deviceId: reader })
      const second = await log.getUnsyncedEntries({ userId: user, deviceId: reader, batchSize: 2 })
      expect([data(second.entries), second.hasMore]).toEqual([['e3', 'e4'], false])
      const single = await log.getUnsyncedEntries({ userId: user, deviceId: reader, batchSize: 1 })
      expect([data(single.entries), single.hasMore]).toEqual([['e3'], true])
      const large = await log.getUnsyncedEntries({ userId: user, deviceId: reader, batchSize: 100 })
      expect([data(large.entries), large.hasMore]).toEqual([['e3', 'e4'], false])
    }))

    it('counts only other devices\' entries in a page', withLog(async ({ log, user }) => {
      const [a, b] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'a1')], { userId: user, deviceId: a })
      await log.writeEntries([entry(1, 'b1')], { userId: user, deviceId: b })
      await log.writeEntries([entry(2, 'a2'), entry(3, 'a3')], { userId: user, deviceId: a })
      await log.writeEntries([entry(2, 'b2')], { userId: user, deviceId: b })
      await log.writeEntries([entry(4, 'a4')], { userId: user, deviceId: a })
      const first = await log.getUnsyncedEntries({ userId: user, deviceId: a, batchSize: 1 })
      expect([data(first.entries), first.hasMore]).toEqual([['b1'], true])
      await log.markAsSeen(first, { userId: user, deviceId: a })
      const second = await log.getUnsyncedEntries({ userId: user, deviceId: a, batchSize: 1 })
      expect([data(second.entries), second.hasMore]).toEqual([['b2'], false])
      await log.markAsSeen(second, { userId: user, deviceId: a })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: a, batchSize: 1 })).entries).toEqual([])
    }))
  })


  describe('cursor', () => {
    it('still delivers an entry written between a read and its markAsSeen', withLog(async ({ log, user }) => {
      const [a, b, reader] = await devices(log, user, 3)
      await log.writeEntries([entry(1, 'first')], { userId: user, deviceId: a })
      const firstRead = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(data(firstRead.entries)).toEqual(['first'])
      await log.writeEntries([entry(2, 'second')], { userId: user, deviceId: a })
      await log.writeEntries([entry(1, 'third')], { userId: user, deviceId: b })
      await log.markAsSeen(firstRead, { userId: user, deviceId: reader })
      const secondRead = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(data(secondRead.entries)).toEqual(['second', 'third'])
      await log.markAsSeen(secondRead, { userId: user, deviceId: reader })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries).toEqual([])
    }))

    it('never moves the cursor backwards when given an older memo', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'first')], { userId: user, deviceId: a })
      const firstRead = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      await log.markAsSeen(firstRead, { userId: user, deviceId: reader })
      await log.writeEntries([entry(2, 'second')], { userId: user, deviceId: a })
      const secondRead = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      await log.markAsSeen(secondRead, { userId: user, deviceId: reader })
      await log.markAsSeen(firstRead, { userId: user, deviceId: reader, now: 99 })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries).toEqual([])
      await log.writeEntries([entry(3, 'third')], { userId: user, deviceId: a })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries)).toEqual(['third'])
    }))

    it('keeps a cursor per device', withLog(async ({ log, user }) => {
      const [a, b, c] = await devices(log, user, 3)
      await log.writeEntries([entry(1, 'x')], { userId: user, deviceId: a })
      await markAll(log, user, b)
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries).toEqual([])
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: c })).entries)).toEqual(['x'])
    }))

    it('refuses with INVALID_MEMO a memo it never handed out, and the cursor stays where it was', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'first')], { userId: user, deviceId: a })
      const forged: unknown[] = [{ sequence: 1e15 }, { sequence: 1e300 }, { sequence: -1 }, { sequence: 0.5 }, { sequence: '1' }, {}, null, undefined, 5, 'a memo']
      for (const memo of forged) {
        const error = await log.markAsSeen({ memo }, { userId: user, deviceId: reader }).then(() => null, (e) => e)
        expect(error?.code, `markAsSeen(${JSON.stringify(memo)})`).toBe('INVALID_MEMO')
      }
      await log.writeEntries([entry(2, 'second')], { userId: user, deviceId: a })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries)).toEqual(['first', 'second'])
    }))

    it('a memo of an empty read is accepted and loses nothing', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const empty = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      await log.writeEntries([entry(1, 'x')], { userId: user, deviceId: a })
      await log.markAsSeen(empty, { userId: user, deviceId: reader })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries)).toEqual(['x'])
    }))
  })


  describe('own entries', () => {
    it('never returns a device\'s own entries', withLog(async ({ log, user }) => {
      const [a, b] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'a1'), entry(2, 'a2')], { userId: user, deviceId: a })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: a })).entries).toEqual([])
      await log.writeEntries([entry(1, 'b1')], { userId: user, deviceId: b })
      await log.writeEntries([entry(3, 'a3')], { userId: user, deviceId: a })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: a })
      expect(data(update.entries)).toEqual(['b1'])
      await log.markAsSeen(update, { userId: user, deviceId: a })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: a })).entries).toEqual([])
      // the writer's own entries are still there for everyone else
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries)).toEqual(['a1', 'a2', 'a3'])
    }))
  })

}
