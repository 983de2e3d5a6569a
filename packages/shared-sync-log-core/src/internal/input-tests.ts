import { describe, expect, it } from 'vitest'
import { isSyncError } from '@storex-sync/errors'
import { data, devices, entry, type WithLog } from './conformance-helpers'

async function errorOf(promise: Promise<unknown>): Promise<(Error & { code?: string }) | null> {
  return promise.then(
    () => null,
    (error: Error & { code?: string }) => error,
  )
}

/** Conformance cases: bad arguments and memos are refused, a batch is stored whole or not at all. */
export function describeInput(withLog: WithLog): void {
  describe('bad input', () => {
    it('refuses bad arguments with INVALID_ARGUMENT, a SyncError whose message says what to do', withLog(async ({ log, user }) => {
      const deviceId = (await devices(log, user, 1))[0]!
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['a createdOn that is not a number', () => log.writeEntries([{ createdOn: Number.NaN, data: 'x' }], { userId: user, deviceId })],
        ['data that is not a string', () => log.writeEntries([{ createdOn: 1, data: { not: 'a string' } as unknown as string }], { userId: user, deviceId })],
        ['entries that are not an array', () => log.writeEntries('nope' as never, { userId: user, deviceId })],
        ['batchSize 0', () => log.getUnsyncedEntries({ userId: user, deviceId, batchSize: 0 })],
        ['a fractional batchSize', () => log.getUnsyncedEntries({ userId: user, deviceId, batchSize: 1.5 })],
        ['no userId', () => log.createDeviceId({ userId: undefined as never })],
      ]
      for (const [what, call] of calls) {
        const error = await errorOf(call())
        expect(error, what).not.toBeNull()
        expect(isSyncError(error), what).toBe(true)
        expect(error!.code, what).toBe('INVALID_ARGUMENT')
        expect(error!.message.length, what).toBeGreaterThan(20)
      }
      // nothing of the refused writes was stored
      const [reader] = await devices(log, user, 1)
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: reader! })).entries).toEqual([])
    }))

    it('writes nothing of a batch when one of its entries is invalid', withLog(async ({ log, user }) => {
      const [writer, reader] = await devices(log, user, 2)
      const error = await errorOf(
        log.writeEntries([entry(1, 'ok'), { createdOn: 'late' as never, data: 'bad' }], { userId: user, deviceId: writer! }),
      )
      expect(error?.code).toBe('INVALID_ARGUMENT')
      expect((await log.getUnsyncedEntries({ userId: user, deviceId: reader! })).entries).toEqual([])
      // the valid entry is stored when written again on its own
      await log.writeEntries([entry(1, 'ok')], { userId: user, deviceId: writer! })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader! })).entries)).toEqual(['ok'])
    }))

    it('stores an entry repeated inside one batch once', withLog(async ({ log, user }) => {
      const [writer, reader] = await devices(log, user, 2)
      await log.writeEntries([entry(1, 'x'), entry(1, 'x'), entry(2, 'y')], { userId: user, deviceId: writer! })
      expect(data((await log.getUnsyncedEntries({ userId: user, deviceId: reader! })).entries)).toEqual(['x', 'y'])
    }))
  })

  describe('close (optional)', () => {
    it('closes, and closing again is harmless', withLog(async ({ log, user }) => {
      if (!log.close) return
      await devices(log, user, 1)
      await log.close()
      await log.close()
    }))
  })
}
