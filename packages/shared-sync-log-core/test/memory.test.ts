import { describe, expect, it } from 'vitest'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'
import { SyncError } from '@storex-sync/errors'

runSharedSyncLogTests('MemorySharedSyncLog (int ids)', async () => ({
  sharedSyncLog: new MemorySharedSyncLog(),
  deviceIdType: 'int',
}))

runSharedSyncLogTests('MemorySharedSyncLog (string ids, string user ids)', async () => ({
  sharedSyncLog: new MemorySharedSyncLog({ autoPkType: 'string' }),
  deviceIdType: 'string',
  userIds: ['alice', 'bob'],
}))

describe('MemorySharedSyncLog specifics', () => {
  it('hands out 1, 2, 3 for int ids', async () => {
    const log = new MemorySharedSyncLog()
    expect([await log.createDeviceId({ userId: 1 }), await log.createDeviceId({ userId: 2 })]).toEqual([1, 2])
  })

  it('does not accept a device id of the wrong type', async () => {
    const log = new MemorySharedSyncLog()
    const deviceId = await log.createDeviceId({ userId: 1 })
    expect(await log.getDeviceInfo({ userId: 1, deviceId: String(deviceId) })).toBeNull()
  })

  it('rejects an unknown autoPkType', () => {
    expect(() => new MemorySharedSyncLog({ autoPkType: 'uuid' as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/autoPkType/) }))
  })
})

runSharedSyncLogTests('MemorySharedSyncLog (with limits)', async () => ({
  sharedSyncLog: new MemorySharedSyncLog({ limits: { maxWriteBytes: 2 * 1024 * 1024, maxEntriesPerWrite: 500 } }),
  deviceIdType: 'int',
}))

describe('limits and refusals', () => {
  it('measures writes exactly as their JSON body, in UTF-8 bytes', async () => {
    const { measureWriteBytes, utf8Length } = await import('@storex-sync/shared-sync-log-core')
    const entries = [
      { createdOn: 1.5, data: 'héllo ✓ 𝄞' },
      { createdOn: 2, data: '"quoted"\n' },
    ]
    const options = { deviceId: 'd1', now: 5, extraSentInfo: { v: 'ü' } }
    const body = JSON.stringify({ deviceId: 'd1', entries, now: 5, extraSentInfo: { v: 'ü' } })
    expect(measureWriteBytes(entries, options)).toBe(new TextEncoder().encode(body).length)
    expect(utf8Length('𝄞')).toBe(4)
    expect(measureWriteBytes([], { deviceId: 7 })).toBe(new TextEncoder().encode('{"deviceId":7,"entries":[]}').length)
  })

  it('refuses a write over maxEntriesPerWrite or maxWriteBytes, stores nothing of it, and says why', async () => {
    const { SharedSyncLogRefusalError, readRefusal } = await import('@storex-sync/shared-sync-log-core')
    const log = new MemorySharedSyncLog({ limits: { maxEntriesPerWrite: 2, maxWriteBytes: 200 } })
    expect(await log.getLimits()).toEqual({ maxEntriesPerWrite: 2, maxWriteBytes: 200, sizeRule: 'json-utf8-v1' })
    const writer = await log.createDeviceId({ userId: 1 })
    const reader = await log.createDeviceId({ userId: 1 })
    const three = [1, 2, 3].map((createdOn) => ({ createdOn, data: 'x' }))
    const error = await log.writeEntries(three, { userId: 1, deviceId: writer }).catch((thrown) => thrown)
    expect(error).toBeInstanceOf(SharedSyncLogRefusalError)
    expect(error).toBeInstanceOf(SyncError)
    expect(readRefusal(error)).toMatchObject({ code: 'REQUEST_TOO_LARGE', refused: null })
    const big = await log.writeEntries([{ createdOn: 4, data: 'y'.repeat(300) }], { userId: 1, deviceId: writer }).catch((thrown) => thrown)
    expect(big.message).toMatch(/^@storex-sync\/shared-sync-log-core: a write of \d+ bytes is larger than the log accepts \(200 bytes\)/)
    expect((await log.getUnsyncedEntries({ userId: 1, deviceId: reader })).entries).toEqual([])
  })

  it('readRefusal tells permanent refusals from errors that may pass later', async () => {
    const { SharedSyncLogRefusalError, readRefusal } = await import('@storex-sync/shared-sync-log-core')
    const refused = new SharedSyncLogRefusalError('ENTRIES_REFUSED', 'no', { refused: [{ createdOn: 3, reason: 'INVALID_ENTRY', message: 'bad' }] })
    expect(readRefusal(refused)).toEqual({ code: 'ENTRIES_REFUSED', refused: [{ createdOn: 3, reason: 'INVALID_ENTRY', message: 'bad' }], message: 'no' })
    expect(readRefusal(new Error('ECONNRESET'))).toBeNull()
    expect(readRefusal({ code: 'SERVER_ERROR', status: 503 })).toBeNull()
    expect(readRefusal({ code: 'ENTRIES_REFUSED' })).toBeNull()
    expect(() => new MemorySharedSyncLog({ limits: { maxWriteBytes: 0 } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/maxWriteBytes must be a positive number/) }))
  })
})
