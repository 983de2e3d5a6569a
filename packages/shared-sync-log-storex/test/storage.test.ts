import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { _defaultOperationExecutor, registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import {
  clientBackends,
  createSqliteStorage,
  type CreateTestStorageOptions,
  type StorageManagerInstance,
  type TestStorage,
} from '@storex-sync/test-backends'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SharedSyncLogStorage,
  type SharedSyncLogAppend,
  type SharedSyncLogEntryRecord,
} from '@storex-sync/shared-sync-log-storex'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!()
  }
})

async function openLog(
  create: (options: CreateTestStorageOptions) => Promise<TestStorage>,
  options: { autoPkType?: 'int' | 'string'; database?: string; countOperations?: string[] } = {},
) {
  const autoPkType = options.autoPkType ?? 'int'
  let sharedSyncLog!: SharedSyncLogStorage
  const storage = await (create as typeof createSqliteStorage)({
    autoPkType,
    database: options.database,
    setup: (storageManager) => {
      const execute = _defaultOperationExecutor(storageManager as never)
      sharedSyncLog = new SharedSyncLogStorage({
        storageManager,
        autoPkType,
        operationExecuter: (operation) => {
          options.countOperations?.push(operation.name)
          return execute(operation)
        },
      })
      registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
    },
  })
  return { sharedSyncLog, storage, storageManager: storage.storageManager as StorageManagerInstance }
}

describe('SharedSyncLogStorage', () => {
  it('continues the sequence and device ids in a storage reopened on the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shared-sync-log-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const database = join(dir, 'shared-log.sqlite')

    const first = await openLog(createSqliteStorage, { database })
    const a = await first.sharedSyncLog.createDeviceId({ userId: 1 })
    const b = await first.sharedSyncLog.createDeviceId({ userId: 1 })
    await first.sharedSyncLog.writeEntries([{ createdOn: 1, data: 'one' }, { createdOn: 2, data: 'two' }], { userId: 1, deviceId: a })
    const firstRead = await first.sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b, batchSize: 1 })
    await first.sharedSyncLog.markAsSeen(firstRead, { userId: 1, deviceId: b })
    await first.storage.cleanup()

    const second = await openLog(createSqliteStorage, { database })
    cleanups.push(() => second.storage.cleanup())
    const c = await second.sharedSyncLog.createDeviceId({ userId: 1 })
    expect(new Set([a, b, c]).size).toBe(3)
    // a retry of the first batch after the restart is still recognised
    await second.sharedSyncLog.writeEntries([{ createdOn: 2, data: 'two' }, { createdOn: 3, data: 'three' }], { userId: 1, deviceId: a })
    await second.sharedSyncLog.writeEntries([{ createdOn: 1, data: 'four' }], { userId: 1, deviceId: c })

    const records = (await second.storageManager
      .collection(SHARED_SYNC_LOG_ENTRY_COLLECTION)
      .findObjects({ userId: '1' }, { order: [['sequence', 'asc']] })) as SharedSyncLogEntryRecord[]
    expect(records.map((r) => [r.sequence, r.data])).toEqual([[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']])

    // b's cursor survived the restart: it continues after 'one'
    const update = await second.sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b })
    expect(update.entries.map((e) => e.data)).toEqual(['two', 'three', 'four'])
  })

  describe.each(clientBackends)('on $kind', ({ create }) => {
    it('writes a batch in a fixed number of round trips, whatever its size', async () => {
      const operations: string[] = []
      const { sharedSyncLog, storage } = await openLog(create, { countOperations: operations })
      cleanups.push(() => storage.cleanup())
      const [a, b] = [await sharedSyncLog.createDeviceId({ userId: 1, now: 1000 }), await sharedSyncLog.createDeviceId({ userId: 1, now: 1000 })]

      const entries = Array.from({ length: 200 }, (_, i) => ({ createdOn: i + 1, data: `e${i}` }))
      operations.length = 0
      await sharedSyncLog.writeEntries(entries, { userId: 1, deviceId: a, now: 2000 })
      // findUser: an empty log continues after what compaction left; updateDeviceActivity: a writer is active
      expect(operations).toEqual(['findDeviceInfo', 'findEntriesByKeys', 'findLastEntry', 'findUser', 'executeBatch', 'updateDeviceActivity'])

      operations.length = 0
      await sharedSyncLog.writeEntries([...entries, { createdOn: 1000, data: 'new' }], { userId: 1, deviceId: a, now: 2000 })
      expect(operations).toEqual(['findDeviceInfo', 'findEntriesByKeys', 'findLastEntry', 'executeBatch'])

      operations.length = 0
      await sharedSyncLog.writeEntries(entries, { userId: 1, deviceId: a, now: 2000 })
      expect(operations).toEqual(['findDeviceInfo', 'findEntriesByKeys'])

      operations.length = 0
      const update = await sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b, batchSize: 150 })
      expect(update.entries).toHaveLength(150)
      expect(update.remaining).toBe(51)
      // findUser: compactedUntil; countOwnEntriesAfter + findLastEntry: `remaining`, only when more wait
      expect(operations).toEqual(['findDeviceInfo', 'findOwnEntriesAfter', 'findOtherEntriesAfter', 'findUser', 'countOwnEntriesAfter', 'findLastEntry'])

      operations.length = 0
      await sharedSyncLog.markAsSeen(update, { userId: 1, deviceId: b, now: 3000 })
      // findLastEntry: a memo beyond the log's last sequence was never handed out (refused)
      expect(operations).toEqual(['findDeviceInfo', 'findLastEntry', 'executeBatch'])
      const rest = await sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b })
      expect(rest.entries.map((e) => e.data)).toEqual([...entries.slice(150).map((e) => e.data), 'new'])
    })

    it('stores entries and devices in the documented shape', async () => {
      const { sharedSyncLog, storage, storageManager } = await openLog(create, { autoPkType: 'string' })
      cleanups.push(() => storage.cleanup())
      const a = await sharedSyncLog.createDeviceId({ userId: 7, sharedUntil: 3 })
      await sharedSyncLog.writeEntries([{ createdOn: 1_700_000_000_000_001, data: 'x' }], {
        userId: 7,
        deviceId: a,
        now: 1_700_000_000_555,
        extraSentInfo: null,
      })
      const [record] = (await storageManager.collection(SHARED_SYNC_LOG_ENTRY_COLLECTION).findObjects({})) as SharedSyncLogEntryRecord[]
      expect(record).toMatchObject({
        userId: '7',
        deviceId: a,
        createdOn: 1_700_000_000_000_001,
        sharedOn: 1_700_000_000_555,
        sequence: 1,
        data: 'x',
        extraSentInfo: { value: null },
      })
      expect(typeof record!.id).toBe('string')
      const [device] = await storageManager.collection(SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION).findObjects({})
      expect(device).toMatchObject({ id: a, userId: '7', sharedUntil: 3, cursor: 0 })

      // null as extraSentInfo is kept apart from "no extraSentInfo"
      const b = await sharedSyncLog.createDeviceId({ userId: 7 })
      const [entry] = (await sharedSyncLog.getUnsyncedEntries({ userId: 7, deviceId: b })).entries
      expect(entry).toHaveProperty('extraSentInfo', null)
    })

    it('treats a device id of the wrong type as unknown, without asking the database', async () => {
      const operations: string[] = []
      const { sharedSyncLog, storage } = await openLog(create, { autoPkType: 'int', countOperations: operations })
      cleanups.push(() => storage.cleanup())
      const a = await sharedSyncLog.createDeviceId({ userId: 1 })
      operations.length = 0
      expect(await sharedSyncLog.getDeviceInfo({ userId: 1, deviceId: String(a) })).toBeNull()
      expect(await sharedSyncLog.getDeviceInfo({ userId: 1, deviceId: 1.5 })).toBeNull()
      await expect(sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: 'abc' })).rejects.toMatchObject({ code: 'UNKNOWN_DEVICE' })
      expect(operations).toEqual([])
    })

    it('lets a subclass take over the write path', async () => {
      const appended: SharedSyncLogAppend[] = []
      class RecordingLog extends SharedSyncLogStorage {
        protected override async appendEntries(append: SharedSyncLogAppend) {
          appended.push(append)
          await super.appendEntries(append)
        }
      }
      let sharedSyncLog!: RecordingLog
      const storage = await create({
        setup: (storageManager) => {
          sharedSyncLog = new RecordingLog({ storageManager, autoPkType: 'int' })
          registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
        },
        autoPkType: 'int',
      })
      cleanups.push(() => storage.cleanup())
      const [a, b] = [await sharedSyncLog.createDeviceId({ userId: 1 }), await sharedSyncLog.createDeviceId({ userId: 1 })]
      await sharedSyncLog.writeEntries([{ createdOn: 1, data: 'x' }], { userId: 1, deviceId: a, now: 5, extraSentInfo: { v: 1 } })
      expect(appended).toEqual([
        {
          userKey: '1',
          userId: 1,
          deviceId: a,
          sharedOn: 5,
          hasExtraSentInfo: true,
          extraSentInfo: { v: 1 },
          entries: [{ createdOn: 1, data: 'x' }],
        },
      ])
      expect((await sharedSyncLog.getUnsyncedEntries({ userId: 1, deviceId: b })).entries).toHaveLength(1)
    })
  })

  it('declares no int, timestamp or boolean fields besides int device ids', () => {
    for (const autoPkType of ['int', 'string'] as const) {
      const config = new SharedSyncLogStorage({ storageManager: {} as never, autoPkType }).getConfig()
      for (const [collection, definition] of Object.entries(config.collections!)) {
        for (const [field, { type }] of Object.entries(definition.fields)) {
          if (collection === SHARED_SYNC_LOG_ENTRY_COLLECTION && field === 'deviceId') {
            expect(type).toBe(autoPkType)
          } else {
            expect(['int', 'timestamp', 'boolean', 'datetime']).not.toContain(type)
          }
        }
      }
    }
  })

  it('rejects an unknown autoPkType', () => {
    expect(() => new SharedSyncLogStorage({ storageManager: {} as never, autoPkType: 'uuid' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    )
  })
})
