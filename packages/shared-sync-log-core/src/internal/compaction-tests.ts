import { describe, expect, it } from 'vitest'
import type { SharedSyncLog, SharedSyncLogEntryInput, UserId } from '../types'
import type { WithLog } from './conformance-helpers'

const DAY = 24 * 60 * 60 * 1000

function entries(from: number, count: number): SharedSyncLogEntryInput[] {
  return Array.from({ length: count }, (_, index) => ({ createdOn: from + index, data: `entry ${from + index}` }))
}

/** Reads everything the device has not read and marks it seen; returns the memo. */
async function readAll(log: SharedSyncLog, userId: UserId, deviceId: string | number, now: number) {
  const update = await log.getUnsyncedEntries({ userId, deviceId })
  await log.markAsSeen(update, { userId, deviceId, now })
  return update
}

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; message?: string } | null> {
  return promise.then(() => null, (error: { code?: string; message?: string }) => error)
}

/** Conformance cases for the optional `compact()` (skipped for logs without it). */
export function describeCompaction(withLog: WithLog): void {
  describe('compaction (optional)', () => {
    it('deletes the entries every device has read; a device created afterwards must start from a snapshot, then reads on', withLog(async ({ log, user }) => {
      if (!log.compact) return
      const a = await log.createDeviceId({ userId: user, now: 1000 })
      const b = await log.createDeviceId({ userId: user, now: 1000 })
      await log.writeEntries(entries(1, 3), { userId: user, deviceId: a, now: 1000 })
      await readAll(log, user, a, 2000)
      const seenByB = await readAll(log, user, b, 2000)
      expect(seenByB.entries.map((entry) => entry.createdOn)).toEqual([1, 2, 3])

      const result = await log.compact({ userId: user, retentionMs: DAY, now: 3000 })
      expect(result).toEqual({ deletedEntries: 3, retiredDevices: [], remainingEntries: 0 })
      expect((await log.getDeviceInfo({ userId: user, deviceId: b }))?.snapshotRequired ?? false).toBe(false)

      const c = await log.createDeviceId({ userId: user, now: 3000 })
      expect((await log.getDeviceInfo({ userId: user, deviceId: c }))?.snapshotRequired).toBe(true)
      expect((await errorOf(log.getUnsyncedEntries({ userId: user, deviceId: c })))?.code).toBe('SNAPSHOT_REQUIRED')
      // A snapshot taken at b's position brings c past the compacted part.
      await log.markAsSeen({ memo: seenByB.memo }, { userId: user, deviceId: c, now: 3000 })
      expect((await log.getDeviceInfo({ userId: user, deviceId: c }))?.snapshotRequired ?? false).toBe(false)
      await log.writeEntries(entries(4, 1), { userId: user, deviceId: a, now: 4000 })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: c })).entries.map((entry) => entry.createdOn)).toEqual([4])
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries.map((entry) => entry.createdOn)).toEqual([4])
    }))

    it('keeps every entry an active device has not read', withLog(async ({ log, user }) => {
      if (!log.compact) return
      const a = await log.createDeviceId({ userId: user, now: 1000 })
      const b = await log.createDeviceId({ userId: user, now: 1000 })
      await log.writeEntries(entries(1, 2), { userId: user, deviceId: a, now: 1000 })
      await readAll(log, user, a, 1000)
      await log.writeEntries(entries(3, 2), { userId: user, deviceId: a, now: 1000 })
      await readAll(log, user, a, 1000)
      // b has read nothing and was active a minute ago: nothing may go.
      expect(await log.compact({ userId: user, retentionMs: DAY, now: 61_000 })).toEqual({ deletedEntries: 0, retiredDevices: [], remainingEntries: 4 })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries.map((entry) => entry.createdOn)).toEqual([1, 2, 3, 4])
    }))

    it('retires a device silent for longer than the retention; its writes are still accepted and delivered', withLog(async ({ log, user }) => {
      if (!log.compact) return
      const a = await log.createDeviceId({ userId: user, now: 1000 })
      const silent = await log.createDeviceId({ userId: user, now: 1000 })
      await log.writeEntries(entries(1, 3), { userId: user, deviceId: a, now: 1000 })
      await readAll(log, user, a, 5 * DAY)
      const result = await log.compact({ userId: user, retentionMs: DAY, now: 5 * DAY })
      expect(result.deletedEntries).toBe(3)
      expect(result.retiredDevices).toEqual([silent])
      expect((await log.getDeviceInfo({ userId: user, deviceId: silent }))?.snapshotRequired).toBe(true)
      expect((await errorOf(log.getUnsyncedEntries({ userId: user, deviceId: silent })))?.code).toBe('SNAPSHOT_REQUIRED')
      // What it wrote offline is not lost.
      await log.writeEntries(entries(100, 2), { userId: user, deviceId: silent, now: 5 * DAY })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: a })).entries.map((entry) => entry.createdOn)).toEqual([100, 101])
      // Retired devices do not hold compaction back, and are reported once.
      await readAll(log, user, a, 5 * DAY)
      expect(await log.compact({ userId: user, retentionMs: DAY, now: 5 * DAY })).toEqual({ deletedEntries: 2, retiredDevices: [], remainingEntries: 0 })
    }))

    it('never retires a silent device that has read everything', withLog(async ({ log, user }) => {
      if (!log.compact) return
      const a = await log.createDeviceId({ userId: user, now: 1000 })
      const b = await log.createDeviceId({ userId: user, now: 1000 })
      await log.writeEntries(entries(1, 2), { userId: user, deviceId: a, now: 1000 })
      await readAll(log, user, a, 1000)
      await readAll(log, user, b, 1000)
      const result = await log.compact({ userId: user, retentionMs: DAY, now: 30 * DAY })
      expect(result).toEqual({ deletedEntries: 2, retiredDevices: [], remainingEntries: 0 })
      await log.writeEntries(entries(3, 1), { userId: user, deviceId: a, now: 30 * DAY })
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: b })).entries.map((entry) => entry.createdOn)).toEqual([3])
    }))

    it('compacts one user without touching another', withLog(async ({ log, user, otherUser }) => {
      if (!log.compact) return
      const a = await log.createDeviceId({ userId: user, now: 1000 })
      const other = await log.createDeviceId({ userId: otherUser, now: 1000 })
      const otherReader = await log.createDeviceId({ userId: otherUser, now: 1000 })
      await log.writeEntries(entries(1, 2), { userId: user, deviceId: a, now: 1000 })
      await log.writeEntries(entries(1, 2), { userId: otherUser, deviceId: other, now: 1000 })
      await readAll(log, user, a, 1000)
      expect((await log.compact({ userId: user, retentionMs: DAY, now: 2000 })).deletedEntries).toBe(2)
      expect((await log.getUnsyncedEntries({ userId: otherUser, deviceId: otherReader })).entries).toHaveLength(2)
    }))

    it('reports how many entries wait beyond a page, where the log tells', withLog(async ({ log, user }) => {
      const a = await log.createDeviceId({ userId: user, now: 1000 })
      const b = await log.createDeviceId({ userId: user, now: 1000 })
      await log.writeEntries(entries(1, 5), { userId: user, deviceId: a, now: 1000 })
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: b, batchSize: 2 })
      if (update.remaining === undefined) return
      expect(update.remaining).toBe(3)
      await log.markAsSeen(update, { userId: user, deviceId: b, now: 1000 })
      const last = await log.getUnsyncedEntries({ userId: user, deviceId: b, batchSize: 3 })
      expect(last.remaining).toBe(0)
    }))

    it('refuses a retention that is not a non-negative number', withLog(async ({ log, user }) => {
      if (!log.compact) return
      for (const retentionMs of [-1, Number.NaN, '30d' as unknown as number]) {
        const error = await errorOf(log.compact({ userId: user, retentionMs }))
        expect(error?.code).toBe('INVALID_ARGUMENT')
        expect(error?.message).toMatch(/retentionMs/)
      }
    }))
  })
}
