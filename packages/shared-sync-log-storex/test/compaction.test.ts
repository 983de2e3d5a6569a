import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { entryIdentityKey } from '@storex-sync/shared-sync-log-core/implement'
import { createIndexedDbStorage, createSqliteStorage, type StorageManagerInstance } from '@storex-sync/test-backends'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SHARED_SYNC_LOG_USER_COLLECTION,
  SharedSyncLogStorage,
} from '@storex-sync/shared-sync-log-storex'

const DAY = 24 * 60 * 60 * 1000
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** The collections as the release before compaction declared them (the first version of each). */
class PreviousRelease extends SharedSyncLogStorage {
  override getConfig() {
    const config = super.getConfig()
    const collections: typeof config.collections = {}
    for (const [name, definition] of Object.entries(config.collections ?? {})) {
      if (name === SHARED_SYNC_LOG_USER_COLLECTION) continue
      collections[name] = definition.history?.[0] ?? definition
    }
    return { ...config, collections }
  }
}

type Create = typeof createSqliteStorage

async function open(create: Create, database: string, Module: typeof SharedSyncLogStorage) {
  let sharedSyncLog!: SharedSyncLogStorage
  const storage = await create({
    autoPkType: 'int',
    database,
    setup: (storageManager) => {
      sharedSyncLog = new Module({ storageManager, autoPkType: 'int' })
      registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
    },
  })
  return { sharedSyncLog, storage, storageManager: storage.storageManager as StorageManagerInstance }
}

const upgradeCases: Array<[string, Create, () => string]> = [
  [
    'an SQLite file',
    createSqliteStorage,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'shared-sync-log-upgrade-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      return join(dir, 'log.sqlite')
    },
  ],
  ['an IndexedDB database', createIndexedDbStorage as Create, () => `upgrade_${process.pid}_${Date.now()}`],
]

describe('SharedSyncLogStorage compaction', () => {
  describe.each(upgradeCases)('on %s made by the previous release', (_, create, database) => {
    it('upgrades in place: old devices keep reading and writing, compaction works, silent old devices are retired', async () => {
      const name = database()
      const old = await open(create, name, PreviousRelease)
      const devices = old.storageManager.collection(SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION)
      // Rows in the previous release's shape: no activeAt, no user row.
      const { object: a } = await devices.createObject({ userId: '1', sharedUntil: 5000, cursor: 3 })
      const { object: b } = await devices.createObject({ userId: '1', sharedUntil: 5000, cursor: 0 })
      const { object: stale } = await devices.createObject({ userId: '1', sharedUntil: null, cursor: 0 })
      for (const sequence of [1, 2, 3]) {
        await old.storageManager.collection(SHARED_SYNC_LOG_ENTRY_COLLECTION).createObject({
          userId: '1',
          deviceId: a.id,
          createdOn: sequence,
          sharedOn: 4000,
          sequence,
          data: `entry ${sequence}`,
          entryKey: entryIdentityKey(1, a.id, sequence),
        })
      }
      await old.storage.cleanup()

      const { sharedSyncLog, storage, storageManager } = await open(create, name, SharedSyncLogStorage)
      cleanups.push(() => storage.cleanup())
      expect(await sharedSyncLog.getDeviceInfo({ userId: 1, deviceId: b.id })).toEqual({ sharedUntil: 5000 })
      const update = await sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b.id })
      expect(update.entries.map((entry) => entry.data)).toEqual(['entry 1', 'entry 2', 'entry 3'])
      await sharedSyncLog.markAsSeen(update, { userId: 1, deviceId: b.id, now: 10 * DAY })
      await sharedSyncLog.writeEntries([{ createdOn: 4, data: 'entry 4' }], { userId: 1, deviceId: a.id, now: 10 * DAY })

      // `stale` has no activeAt and never read (sharedUntil null): silent since ever, so it is retired.
      const result = await sharedSyncLog.compact({ userId: 1, retentionMs: DAY, now: 10 * DAY })
      expect(result).toEqual({ deletedEntries: 3, retiredDevices: [stale.id], remainingEntries: 1 })
      const rows = await storageManager.collection(SHARED_SYNC_LOG_ENTRY_COLLECTION).findObjects({ userId: '1' })
      expect(rows.map((row: any) => row.sequence)).toEqual([4])
      expect(await sharedSyncLog.getDeviceInfo({ userId: 1, deviceId: stale.id })).toEqual({ sharedUntil: null, snapshotRequired: true })
      await expect(sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: stale.id })).rejects.toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
      expect((await sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b.id })).entries.map((entry) => entry.data)).toEqual(['entry 4'])
    })
  })

  it('continues the sequence after a log compacted to nothing, also in a reopened file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shared-sync-log-compacted-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const name = join(dir, 'log.sqlite')
    const first = await open(createSqliteStorage, name, SharedSyncLogStorage)
    const a = await first.sharedSyncLog.createDeviceId({ userId: 1, now: 1000 })
    await first.sharedSyncLog.writeEntries([{ createdOn: 1, data: 'one' }, { createdOn: 2, data: 'two' }], { userId: 1, deviceId: a, now: 1000 })
    await first.sharedSyncLog.markAsSeen(await first.sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: a }), { userId: 1, deviceId: a, now: 1000 })
    expect(await first.sharedSyncLog.compact({ userId: 1, retentionMs: DAY, now: 2000 })).toEqual({ deletedEntries: 2, retiredDevices: [], remainingEntries: 0 })
    await first.storage.cleanup()

    const second = await open(createSqliteStorage, name, SharedSyncLogStorage)
    cleanups.push(() => second.storage.cleanup())
    const b = await second.sharedSyncLog.createDeviceId({ userId: 1, now: 3000 })
    await second.sharedSyncLog.writeEntries([{ createdOn: 3, data: 'three' }], { userId: 1, deviceId: a, now: 3000 })
    const [row] = await second.storageManager.collection(SHARED_SYNC_LOG_ENTRY_COLLECTION).findObjects({ userId: '1' })
    expect(row).toMatchObject({ sequence: 3, data: 'three' })
    // b starts behind the compacted part; a snapshot's memo ({ sequence: 2 }) lets it read on.
    await expect(second.sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b })).rejects.toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
    await second.sharedSyncLog.markAsSeen({ memo: { sequence: 2 } }, { userId: 1, deviceId: b, now: 3000 })
    expect((await second.sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b })).entries.map((entry) => entry.data)).toEqual(['three'])
  })

  it("counts in `remaining` other devices' entries only, not the reader's own", async () => {
    const { sharedSyncLog, storage } = await open(createSqliteStorage, ':memory:', SharedSyncLogStorage)
    cleanups.push(() => storage.cleanup())
    const a = await sharedSyncLog.createDeviceId({ userId: 1 })
    const b = await sharedSyncLog.createDeviceId({ userId: 1 })
    const write = (deviceId: number | string, from: number, count: number) =>
      sharedSyncLog.writeEntries(Array.from({ length: count }, (_, index) => ({ createdOn: from + index, data: 'x' })), { userId: 1, deviceId })
    await write(a, 1, 3)
    await write(b, 100, 2)
    await write(a, 10, 3)
    const update = await sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b, batchSize: 2 })
    expect(update).toMatchObject({ hasMore: true, remaining: 4 })
  })

  it('deletes a large log in chunks and reports what it deleted', async () => {
    const { sharedSyncLog, storage, storageManager } = await open(createSqliteStorage, ':memory:', SharedSyncLogStorage)
    cleanups.push(() => storage.cleanup())
    const a = await sharedSyncLog.createDeviceId({ userId: 1, now: 0 })
    await sharedSyncLog.writeEntries(Array.from({ length: 25_000 }, (_, index) => ({ createdOn: index + 1, data: 'x' })), { userId: 1, deviceId: a, now: 0 })
    await sharedSyncLog.markAsSeen({ memo: { sequence: 24_000 } }, { userId: 1, deviceId: a, now: 0 })
    expect(await sharedSyncLog.compact({ userId: 1, retentionMs: DAY, now: 0 })).toEqual({ deletedEntries: 24_000, retiredDevices: [], remainingEntries: 1000 })
    expect(await storageManager.collection(SHARED_SYNC_LOG_ENTRY_COLLECTION).countObjects({})).toBe(1000)
    expect(await storageManager.collection(SHARED_SYNC_LOG_USER_COLLECTION).findObjects({})).toEqual([{ id: '1', compactedUntil: 24_000 }])
  })
})
