import { describe, expect, it } from 'vitest'
import { collectErrors, data, devices, entry, readAll, unknownDeviceId, type WithLog } from './conformance-helpers'

/** Conformance cases: users kept apart, repeated writes stored once, and entries kept exactly as written, also under concurrency. */
export function describeIsolationAndFidelity(withLog: WithLog): void {
  describe('users', () => {
    it('keeps two users\' entries apart', withLog(async ({ log, user, otherUser }) => {
      const [a, b] = await devices(log, user, 2)
      const [c, d] = await devices(log, otherUser, 2)
      await log.writeEntries([entry(1, 'user-1')], { userId: user, deviceId: a })
      await log.writeEntries([entry(1, 'user-2')], { userId: otherUser, deviceId: c })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries)).toEqual(['user-1'])
      const otherUpdate = await log.getUnsyncedEntries({ userId: otherUser, deviceId: d })
      expect(otherUpdate.entries).toEqual([
        expect.objectContaining({ userId: otherUser, deviceId: c, data: 'user-2' }),
      ])
      expect((await log.getUnsyncedEntries({ userId: otherUser, deviceId: c })).entries).toEqual([])
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: a })).entries).toEqual([])
    }))

    it('treats another user\'s device exactly like a device that does not exist', withLog(async ({ log, user, otherUser }) => {
      const [a, b] = await devices(log, user, 2)
      const [c] = await devices(log, otherUser, 1)
      const missing = unknownDeviceId(c)
      await log.writeEntries([entry(1, 'secret')], { userId: user, deviceId: a })

      expect(await log.getDeviceInfo({ userId: otherUser, deviceId: a })).toBeNull()
      expect(await log.getDeviceInfo({ userId: user, deviceId: c })).toBeNull()

      const memo = (await log.getUnsyncedEntries({ userId: otherUser, deviceId: c! })).memo
      const foreign = await collectErrors(log, otherUser, a!, memo)
      const nonexistent = await collectErrors(log, otherUser, missing, memo)
      for (let i = 0; i < foreign.length; i += 1) {
        expect(foreign[i]!.code).toBe('UNKNOWN_DEVICE')
        expect(nonexistent[i]!.code).toBe('UNKNOWN_DEVICE')
        expect(foreign[i]!.message.split(JSON.stringify(a)).join('<id>').split(String(a)).join('<id>')).toBe(
          nonexistent[i]!.message.split(JSON.stringify(missing)).join('<id>').split(String(missing)).join('<id>'),
        )
      }

      // the refused write left no trace in either user's log, the refused markAsSeen moved no cursor
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries)).toEqual(['secret'])
      expect((await log.getUnsyncedEntries({ userId: otherUser, deviceId: c })).entries).toEqual([])
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: a })).entries)).toEqual([])
    }))
  })


  describe('idempotent writes', () => {
    it('stores a batch written twice only once', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const batch = [entry(1, 'one'), entry(2, 'two')]
      await log.writeEntries(batch, { userId: user, deviceId: a, now: 10 })
      await log.writeEntries(batch, { userId: user, deviceId: a, now: 20 })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries.map((e) => [e.data, e.sharedOn])).toEqual([['one', 10], ['two', 10]])
    }))

    it('stores only the new entries of an overlapping batch, also after they were seen', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'one'), entry(2, 'two')], { userId: user, deviceId: a })
      const first = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(data(first.entries)).toEqual(['one', 'two'])
      await log.markAsSeen(first, { userId: user, deviceId: reader })
      await log.writeEntries([entry(2, 'two'), entry(3, 'three')], { userId: user, deviceId: a })
      await log.writeEntries([entry(1, 'one'), entry(2, 'two'), entry(3, 'three')], { userId: user, deviceId: a })
      const second = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(data(second.entries)).toEqual(['three'])
      const fresh = (await devices(log, user, 1))[0]!
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: fresh })).entries)).toEqual(['one', 'two', 'three'])
    }))

    it('tells entries apart by device: the same createdOn from two devices is two entries', withLog(async ({ log, user }) => {
      const [a, b, reader] = await devices(log, user, 3)
      await log.writeEntries([entry(1, 'from a')], { userId: user, deviceId: a })
      await log.writeEntries([entry(1, 'from b')], { userId: user, deviceId: b })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader })).entries)).toEqual(['from a', 'from b'])
    }))
  })


  describe('extraSentInfo', () => {
    it('returns the batch\'s extraSentInfo on each of its entries', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const extraSentInfo = { app: 'memex', version: 3, nested: { list: [1, 'two', null], flag: false } }
      await log.writeEntries([entry(1, 'x'), entry(2, 'y')], { userId: user, deviceId: a, extraSentInfo })
      await log.writeEntries([entry(3, 'z')], { userId: user, deviceId: a })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries.map((e) => e.extraSentInfo)).toEqual([extraSentInfo, extraSentInfo, undefined])
      expect(update.entries[2]!.extraSentInfo).toBeUndefined()
    }))
  })


  describe('data', () => {
    it('returns data strings unchanged: empty, unicode, JSON-like, whitespace and ~1 MB', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const large = Array.from({ length: 1024 * 1024 }, (_, i) => String.fromCharCode(33 + (i % 90))).join('')
      const samples = [
        '',
        'héllo wörld – ünïcødé ✓ 中文字符 日本語 한국어 العربية 🌍🎉👩‍👩‍👧',
        '{"operation":"create","pk":"x\\"y","value":{"a":[1,2,{"b":null}]}}',
        "quotes ' \" ` and backslashes \\ \\\\ and %s %d ${x} $1 ?",
        '  leading and trailing spaces  \n\ttabs\r\nnewlines\n',
        large,
      ]
      await log.writeEntries(samples.map((sample, i) => entry(i + 1, sample)), { userId: user, deviceId: a })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries.length).toBe(samples.length)
      update.entries.forEach((received, i) => {
        expect(received.data.length).toBe(samples[i]!.length)
        expect(received.data === samples[i]).toBe(true)
      })
    }))

    // Any clock value a device can issue (a safe integer up to a day ahead of now, as the sync
    // server checks it) comes back exactly; a log may refuse values no device can use.
    it('returns large createdOn values unchanged', withLog(async ({ log, user }) => {
      const [a, reader] = await devices(log, user, 2)
      const createdOns = [1_700_000_000_000_123, (Date.now() + 3_600_000) * 1000 + 999, 0, 1]
      await log.writeEntries(createdOns.map((createdOn) => entry(createdOn, String(createdOn))), { userId: user, deviceId: a })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries.map((e) => e.createdOn)).toEqual(createdOns)
    }))
  })


  describe('concurrency', () => {
    it('delivers concurrent writes of several devices exactly once, in one order for every reader', withLog(async ({ log, user }) => {
      const writers = await devices(log, user, 4)
      const readers = await devices(log, user, 2)
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
              { userId: user, deviceId: writer },
            ),
          ),
        ),
      )
      const total = writers.length * batchesPerWriter * entriesPerBatch
      const orders: string[][] = []
      for (const reader of readers) {
        const received = await readAll(log, user, reader, 7)
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
      const writerView = data(await readAll(log, user, writers[0]!, 10))
      expect(writerView).toEqual(orders[0]!.filter((d) => !d.startsWith('w0-')))
    }))

    it('loses nothing when a device reads while others write', withLog(async ({ log, user }) => {
      const writers = await devices(log, user, 3)
      const [reader] = await devices(log, user, 1)
      const received: string[] = []
      let writing = true
      const readLoop = (async () => {
        while (writing) {
          const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader!, batchSize: 3 })
          received.push(...data(update.entries))
          await log.markAsSeen(update, { userId: user, deviceId: reader! })
          await new Promise((resolve) => setTimeout(resolve, 0))
        }
      })()
      await Promise.all(
        writers.map(async (writer, w) => {
          for (let n = 1; n <= 6; n += 1) {
            await log.writeEntries([entry(n, `w${w}-${n}`)], { userId: user, deviceId: writer })
            await new Promise((resolve) => setTimeout(resolve, 0))
          }
        }),
      )
      writing = false
      await readLoop
      received.push(...data(await readAll(log, user, reader!, 4)))
      expect(received.length).toBe(18)
      expect(new Set(received).size).toBe(18)
    }))
  })
}
