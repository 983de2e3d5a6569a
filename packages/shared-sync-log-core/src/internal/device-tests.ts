import { describe, expect, it } from 'vitest'
import { measureWriteBytes, readRefusal } from '../limits'
import type { DeviceId } from '../types'
import { entry, expectUnknownDevice, unknownDeviceId, type WithLog } from './conformance-helpers'

/** Conformance cases: published limits, device ids and device info. */
export function describeDevices(withLog: WithLog): void {
  describe('limits', () => {
    it('publishes limits it honours: a write of exactly maxWriteBytes passes, one byte more is refused for its size', withLog(async ({ log, user }) => {
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
      const writer = await log.createDeviceId({ userId: user })
      const reader = await log.createDeviceId({ userId: user })
      const options = { userId: user, deviceId: writer, now: 1000 }
      const empty = measureWriteBytes([{ createdOn: 1, data: '' }], { deviceId: writer, now: 1000 })
      const fitting = { createdOn: 1, data: 'x'.repeat(limits.maxWriteBytes - empty) }
      expect(measureWriteBytes([fitting], { deviceId: writer, now: 1000 })).toBe(limits.maxWriteBytes)
      await log.writeEntries([fitting], options)
      const tooLarge = { createdOn: 2, data: 'y'.repeat(limits.maxWriteBytes - empty + 1) }
      const error = await log.writeEntries([tooLarge], options).then(() => null, (thrown: unknown) => thrown)
      expect(readRefusal(error)?.code).toBe('REQUEST_TOO_LARGE')
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: reader })
      expect(update.entries.map((entry) => entry.createdOn)).toEqual([1])
    }))
  })


  describe('devices', () => {
    it('hands out unique device ids of one type', withLog(async ({ log, deviceIdType, user, otherUser }) => {
      const ids: DeviceId[] = []
      for (let i = 0; i < 4; i += 1) {
        ids.push(await log.createDeviceId({ userId: user }))
      }
      ids.push(await log.createDeviceId({ userId: otherUser }))
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

    it('reports sharedUntil: as created, null by default, then the time of markAsSeen', withLog(async ({ log, user }) => {
      const withTime = await log.createDeviceId({ userId: user, sharedUntil: 5 })
      const withoutTime = await log.createDeviceId({ userId: user })
      const withNull = await log.createDeviceId({ userId: user, sharedUntil: null })
      expect(await log.getDeviceInfo({ userId: user, deviceId: withTime })).toEqual({ sharedUntil: 5 })
      expect(await log.getDeviceInfo({ userId: user, deviceId: withoutTime })).toEqual({ sharedUntil: null })
      expect(await log.getDeviceInfo({ userId: user, deviceId: withNull })).toEqual({ sharedUntil: null })

      const update = await log.getUnsyncedEntries({ userId: user, deviceId: withoutTime })
      await log.markAsSeen(update, { userId: user, deviceId: withoutTime, now: 1_700_000_000_123 })
      expect(await log.getDeviceInfo({ userId: user, deviceId: withoutTime })).toEqual({ sharedUntil: 1_700_000_000_123 })
      // other devices are untouched
      expect(await log.getDeviceInfo({ userId: user, deviceId: withTime })).toEqual({ sharedUntil: 5 })

      const before = Date.now()
      await log.markAsSeen(update, { userId: user, deviceId: withTime })
      const after = Date.now()
      const info = await log.getDeviceInfo({ userId: user, deviceId: withTime })
      expect(info!.sharedUntil).toBeGreaterThanOrEqual(before)
      expect(info!.sharedUntil).toBeLessThanOrEqual(after)
    }))

    it('returns null for a device that does not exist', withLog(async ({ log, user }) => {
      const known = await log.createDeviceId({ userId: user })
      expect(await log.getDeviceInfo({ userId: user, deviceId: unknownDeviceId(known) })).toBeNull()
    }))

    it('throws UNKNOWN_DEVICE from writeEntries, getUnsyncedEntries and markAsSeen for an unknown device', withLog(async ({ log, user }) => {
      const known = await log.createDeviceId({ userId: user })
      const unknown = unknownDeviceId(known)
      await expectUnknownDevice(log.writeEntries([entry(1, 'x')], { userId: user, deviceId: unknown }))
      await expectUnknownDevice(log.getUnsyncedEntries({ userId: user, deviceId: unknown }))
      const update = await log.getUnsyncedEntries({ userId: user, deviceId: known })
      await expectUnknownDevice(log.markAsSeen(update, { userId: user, deviceId: unknown }))
      // nothing was written by the failed call
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: known })).entries).toEqual([])
    }))
  })

}
