import { afterEach, describe, expect, it } from 'vitest'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { createTestDevice, type TestDevice } from './devices'

const USER = 'user-1'
type Method = 'writeEntries' | 'getUnsyncedEntries' | 'markAsSeen'
type When = 'before' | 'after'

/**
 * A shared log that fails on cue: before doing its work, or after it (the
 * work is done but the caller never hears back, like a lost response).
 */
class FailingSharedSyncLog implements SharedSyncLog {
  private planned: { method: Method; when: When } | null = null
  failures = 0

  constructor(private inner: SharedSyncLog) {}

  failNext(method: Method, when: When) {
    this.planned = { method, when }
  }

  private async run<T>(method: Method, work: () => Promise<T>): Promise<T> {
    const planned = this.planned
    if (planned?.method === method) {
      this.planned = null
      this.failures += 1
      if (planned.when === 'before') throw new Error(`${method} failed before doing its work`)
      await work()
      throw new Error(`${method} did its work but the response was lost`)
    }
    return work()
  }

  createDeviceId: SharedSyncLog['createDeviceId'] = (options) => this.inner.createDeviceId(options)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = (options) => this.inner.getDeviceInfo(options)
  writeEntries: SharedSyncLog['writeEntries'] = (entries, options) =>
    this.run('writeEntries', () => this.inner.writeEntries(entries, options))
  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = (options) =>
    this.run('getUnsyncedEntries', () => this.inner.getUnsyncedEntries(options))
  markAsSeen: SharedSyncLog['markAsSeen'] = (update, options) => this.run('markAsSeen', () => this.inner.markAsSeen(update, options))
}

const opened: TestDevice[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((device) => device.storage.cleanup()))
})

/**
 * Both devices have unshared changes and the other device's changes wait in
 * the shared log, so the interrupted sync has something to do in every stage.
 */
async function scenario(device: 0 | 1, failure: { method: Method; when: When } | null) {
  const inner = new MemorySharedSyncLog()
  const sharedSyncLog = new FailingSharedSyncLog(inner)
  const devices: TestDevice[] = []
  for (const [index, kind] of (['indexeddb', 'sqlite'] as const).entries()) {
    const created = await createTestDevice({ name: `d${index}`, kind, sharedSyncLog, userId: USER })
    opened.push(created)
    devices.push(created)
  }
  const [a, b] = devices as [TestDevice, TestDevice]
  const notes = (target: TestDevice) => target.storageManager.collection('note')
  const { object: first } = await notes(a).createObject({ title: 'first', rank: 1 })
  await a.sync()
  await b.sync()
  a.clock.now += 5
  b.clock.now += 7
  await notes(a).updateObjects({ id: first.id }, { rank: 2 })
  await notes(a).createObject({ title: 'second' })
  await notes(b).updateObjects({ id: first.id }, { title: 'first, renamed by b' })
  await notes(b).createObject({ title: 'from b' })

  const interrupted = devices[device]!
  const other = devices[1 - device]!
  await other.sync()
  if (failure) {
    sharedSyncLog.failNext(failure.method, failure.when)
    await expect(interrupted.sync()).rejects.toThrow(failure.method)
    expect(sharedSyncLog.failures).toBe(1)
  }
  for (let round = 0; round < 2; round += 1) {
    await interrupted.sync()
    await other.sync()
  }
  return { a, b, inner }
}

describe('a sync interrupted at any step and run again', () => {
  const cases = (['writeEntries', 'getUnsyncedEntries', 'markAsSeen'] as Method[]).flatMap((method) =>
    (['before', 'after'] as When[]).flatMap((when) => [0, 1].map((device) => ({ method, when, device: device as 0 | 1 }))),
  )

  it.each(cases)('ends as if never interrupted: $method fails $when its work on device $device', async (failure) => {
    const reference = await scenario(failure.device, null)
    const expected = await reference.a.contents()
    const { a, b } = await scenario(failure.device, failure)
    expect(await a.contents()).toEqual(await b.contents())
    // Same objects and values as the uninterrupted run (ids come from per-device counters, so they match).
    expect(await a.contents()).toEqual(expected)
    // Nothing doubled: each device holds every entry of the other exactly once.
    for (const device of [a, b]) {
      const entries = await device.clientSyncLog.getEntries()
      const keys = entries.map((entry) => `${String(entry.deviceId)}:${entry.createdOn}`)
      expect(new Set(keys).size).toBe(keys.length)
      expect(entries.filter((entry) => entry.needsIntegration)).toEqual([])
      expect(await device.clientSyncLog.getUnsharedEntries()).toEqual([])
    }
    expect((await a.clientSyncLog.getEntries()).length).toBe((await b.clientSyncLog.getEntries()).length)
  })
})
