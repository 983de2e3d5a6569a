import type { OperationBatch } from '@worldbrain/storex'
import {
  StorageModule,
  type StorageModuleConfig,
  type StorageModuleConstructorArgs,
} from '@worldbrain/storex-pattern-modules'
import {
  SharedSyncLogError,
  resolveNow,
  type DeviceId,
  type Now,
  type SharedSyncLog,
  type SharedSyncLogCompactionOptions,
  type SharedSyncLogCompactionResult,
  type SharedSyncLogDeviceInfo,
  type SharedSyncLogEntryInput,
  type SharedSyncLogMemo,
  type SharedSyncLogUpdate,
  type UserId,
} from '@storex-sync/shared-sync-log-core'
import {
  createSequenceMemo,
  decideCompaction,
  entryIdentityKey,
  randomStringId,
  readSequenceMemo,
  validateBatchSize,
  validateEntryInputs,
  validateRetention,
  validateUserId,
} from '@storex-sync/shared-sync-log-core/implement'
import { KeyedMutex } from '@storex-sync/storex-glue'
import { activeAtOf, toAppend, toEntry } from './internal/records'
import { ASCENDING, DESCENDING, sharedSyncLogOperations } from './internal/operations'
import {
  SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
  SHARED_SYNC_LOG_ENTRY_COLLECTION,
  SHARED_SYNC_LOG_USER_COLLECTION,
  sharedSyncLogCollections,
  type SharedSyncLogAppend,
  type SharedSyncLogDeviceInfoRecord,
  type SharedSyncLogEntryRecord,
  type SharedSyncLogUserRecord,
} from './schema'

export interface SharedSyncLogStorageOptions extends StorageModuleConstructorArgs {
  /**
   * Type of the primary keys of the backend: 'int' lets the backend
   * auto-increment device ids (numbers); 'string' makes this module generate
   * random UUIDs (the backend's pk columns must hold strings).
   */
  autoPkType: 'int' | 'string'
}

/** Most entries one transaction of `appendEntries()` stores. */
const APPEND_CHUNK = 1000
/** Most entries one transaction of `compact()` deletes. */
const DELETE_CHUNK = 10_000

/**
 * The shared sync log on any Storex backend (SQLite or PostgreSQL through
 * TypeORM, IndexedDB through Dexie, ...), as a storage module:
 *
 * ```ts
 * const sharedSyncLog = new SharedSyncLogStorage({ storageManager, autoPkType: 'int' })
 * registerModuleMapCollections(storageManager.registry, { sharedSyncLog })
 * await storageManager.finishInitialization()
 * ```
 *
 * Each user's log is ordered by a `sequence` this module assigns (previous
 * maximum + 1). Writes of one user are serialized within an instance, so that
 * is gapless and unique within one process; different users' writes proceed
 * independently, and a large write is stored 1000 entries per transaction. Several processes writing to one database need
 * the database to assign the sequence inside a transaction: override
 * `appendEntries()` for that (see the README).
 */
export class SharedSyncLogStorage extends StorageModule implements SharedSyncLog {
  readonly autoPkType: 'int' | 'string'
  /** Sequences are per user: one user's writes run one at a time, other users' do not wait for them. */
  private readonly writeMutex = new KeyedMutex()

  constructor(options: SharedSyncLogStorageOptions) {
    super(options)
    if (options.autoPkType !== 'int' && options.autoPkType !== 'string') {
      throw new SharedSyncLogError(
        'INVALID_OPTION',
        `SharedSyncLogStorage needs autoPkType 'int' or 'string', got ${JSON.stringify(options.autoPkType)}; ` +
          "use 'int' when the backend auto-increments primary keys, 'string' when its pk columns hold strings",
      )
    }
    this.autoPkType = options.autoPkType
  }

  getConfig(): StorageModuleConfig {
    return {
      collections: sharedSyncLogCollections(this.autoPkType),
      operations: sharedSyncLogOperations,
      accessRules: {
        ownership: {
          [SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION]: { field: 'userId', access: ['list', 'read', 'create', 'update'] },
          [SHARED_SYNC_LOG_ENTRY_COLLECTION]: { field: 'userId', access: ['list', 'read', 'create'] },
          [SHARED_SYNC_LOG_USER_COLLECTION]: { field: 'id', access: ['read'] },
        },
      },
    }
  }

  async createDeviceId(options: { userId: UserId; sharedUntil?: number | null; now?: Now }): Promise<DeviceId> {
    validateUserId(options.userId)
    const object: Omit<SharedSyncLogDeviceInfoRecord, 'id'> & { id?: DeviceId } = {
      userId: String(options.userId),
      sharedUntil: options.sharedUntil ?? null,
      cursor: 0,
      activeAt: resolveNow(options.now),
    }
    if (this.autoPkType === 'string') {
      object.id = randomStringId()
    }
    const { object: created } = await this.operation('createDeviceInfo', { object })
    return created.id as DeviceId
  }

  async getDeviceInfo(options: { userId: UserId; deviceId: DeviceId }): Promise<SharedSyncLogDeviceInfo | null> {
    validateUserId(options.userId)
    const device = await this.findDevice(options.userId, options.deviceId)
    if (!device) {
      return null
    }
    const sharedUntil = device.sharedUntil ?? null
    return Number(device.cursor) < (await this.getCompactedUntil(String(options.userId)))
      ? { sharedUntil, snapshotRequired: true }
      : { sharedUntil }
  }

  /**
   * Retires the user's devices silent for longer than `retentionMs` that have
   * entries left to read, then deletes every entry that all other devices
   * have read (the rule of `decideCompaction()`). Runs serialized with the
   * user's writes in this instance. The user's `compactedUntil` is stored
   * before anything is deleted, so a reader behind it gets
   * `SNAPSHOT_REQUIRED`, never a page with a hole; a compaction interrupted
   * while deleting leaves rows the next one deletes.
   */
  async compact(options: SharedSyncLogCompactionOptions): Promise<SharedSyncLogCompactionResult> {
    validateUserId(options.userId)
    validateRetention(options.retentionMs)
    const now = resolveNow(options.now)
    const userKey = String(options.userId)
    return this.writeMutex.run(userKey, async () => {
      const devices = (await this.operation('findUserDevices', { userKey })) as SharedSyncLogDeviceInfoRecord[]
      const user = (await this.operation('findUser', { userKey })) as SharedSyncLogUserRecord | null
      const compactedUntil = user ? Number(user.compactedUntil) : 0
      const lastSequence = await this.getLastSequence(userKey)
      const decision = decideCompaction(
        devices.map((device) => ({ deviceId: device.id, seenUntil: Number(device.cursor), activeAt: activeAtOf(device) })),
        { compactedUntil, lastSequence, retentionMs: options.retentionMs, now },
      )
      const { compactUntil } = decision
      if (compactUntil > compactedUntil) {
        await this.operation('executeBatch', {
          batch: [
            user
              ? { operation: 'updateObjects', collection: SHARED_SYNC_LOG_USER_COLLECTION, where: { id: userKey }, updates: { compactedUntil: compactUntil } }
              : { operation: 'createObject', collection: SHARED_SYNC_LOG_USER_COLLECTION, args: { id: userKey, compactedUntil: compactUntil } },
          ],
        })
        // No lower bound: rows an interrupted compaction left below compactedUntil go too.
        for (let to = Math.min(compactedUntil + DELETE_CHUNK, compactUntil); ; to = Math.min(to + DELETE_CHUNK, compactUntil)) {
          const batch: OperationBatch = [
            { operation: 'deleteObjects', collection: SHARED_SYNC_LOG_ENTRY_COLLECTION, where: { userId: userKey, sequence: { $lte: to } } },
          ]
          await this.operation('executeBatch', { batch })
          if (to === compactUntil) break
        }
      }
      return {
        // Sequences after compactedUntil are gapless, so the difference is what went.
        deletedEntries: compactUntil - compactedUntil,
        retiredDevices: decision.retiredDevices,
        remainingEntries: Number(await this.operation('countUserEntries', { userKey })),
      }
    })
  }

  async writeEntries(
    entries: Array<SharedSyncLogEntryInput>,
    options: { userId: UserId; deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  ): Promise<void> {
    validateUserId(options.userId)
    validateEntryInputs(entries)
    const device = await this.requireDevice(options.userId, options.deviceId)
    const sharedOn = resolveNow(options.now)
    if (entries.length) {
      await this.writeMutex.run(String(options.userId), () => this.appendEntries(toAppend(entries, options, sharedOn)))
    }
    // A writing device is active: it keeps its place (retirement looks at activeAt).
    if (activeAtOf(device) < sharedOn) {
      await this.operation('updateDeviceActivity', { deviceId: options.deviceId, activeAt: sharedOn })
    }
  }

  async getUnsyncedEntries(options: { userId: UserId; deviceId: DeviceId; batchSize?: number }): Promise<SharedSyncLogUpdate> {
    validateUserId(options.userId)
    validateBatchSize(options.batchSize)
    const device = await this.requireDevice(options.userId, options.deviceId)
    const userKey = String(options.userId)
    const after = device.cursor ?? 0
    // Own entries first: any own entry found now was stored before every entry
    // the next query can return, so the memo may pass it without skipping an
    // entry of another device that this read does not return.
    const [lastOwn] = (await this.operation('findOwnEntriesAfter', {
      userKey,
      deviceId: options.deviceId,
      after,
      order: DESCENDING,
      limit: 1,
    })) as SharedSyncLogEntryRecord[]
    const others = (await this.operation('findOtherEntriesAfter', {
      userKey,
      deviceId: options.deviceId,
      after,
      order: ASCENDING,
      limit: options.batchSize !== undefined ? options.batchSize + 1 : undefined,
    })) as SharedSyncLogEntryRecord[]
    // After the entries: a compaction that deleted some of them before the
    // query ran has stored its compactedUntil by now, so a page with a hole is
    // never handed out.
    if (after < (await this.getCompactedUntil(userKey))) {
      throw SharedSyncLogError.snapshotRequired(options.deviceId)
    }
    const hasMore = options.batchSize !== undefined && others.length > options.batchSize
    const page = hasMore ? others.slice(0, options.batchSize) : others
    const lastOfPage = page.length ? Number(page[page.length - 1]!.sequence) : after
    const end = hasMore ? lastOfPage : Math.max(lastOfPage, Number(lastOwn?.sequence ?? after))
    let remaining = 0
    if (hasMore) {
      // Sequences are gapless: everything after the page, minus the device's own entries there.
      const own = Number(await this.operation('countOwnEntriesAfter', { userKey, deviceId: options.deviceId, after: lastOfPage }))
      remaining = Math.max(0, (await this.getLastSequence(userKey)) - lastOfPage - own)
    }
    return {
      entries: page.map((record) => toEntry(options.userId, record)),
      memo: createSequenceMemo(end),
      hasMore,
      remaining,
    }
  }

  async markAsSeen(
    update: { memo: SharedSyncLogMemo },
    options: { userId: UserId; deviceId: DeviceId; now?: Now },
  ): Promise<void> {
    validateUserId(options.userId)
    const device = await this.requireDevice(options.userId, options.deviceId)
    const sequence = readSequenceMemo(update?.memo)
    if (sequence > (await this.getLastSequence(String(options.userId)))) {
      // Never handed out: accepting it would skip every entry written until the log got there.
      throw SharedSyncLogError.invalidMemo(update.memo)
    }
    const now = resolveNow(options.now)
    // Conditional update: the cursor only ever moves forward, also when two
    // processes mark the same device at once. (The field is named in lower
    // case on purpose: storex-backend-typeorm 0.2 does not quote column names
    // in the WHERE of updateObjects, and PostgreSQL folds unquoted names.)
    const batch: OperationBatch = [
      {
        operation: 'updateObjects',
        collection: SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
        where: { id: options.deviceId, cursor: { $lt: sequence } },
        updates: { cursor: sequence },
      },
      {
        operation: 'updateObjects',
        collection: SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
        where: { id: options.deviceId },
        updates: { sharedUntil: now, activeAt: Math.max(activeAtOf(device), now) },
      },
    ]
    await this.operation('executeBatch', { batch })
  }

  /**
   * The write path: drops entries the log already holds, assigns sequences
   * after the user's current maximum and stores the rest in one batch. Runs
   * serialized within this instance. A subclass for a database shared by
   * several processes overrides this to do the same inside one transaction
   * that locks the user's log (e.g. PostgreSQL `pg_advisory_xact_lock`).
   */
  protected async appendEntries(append: SharedSyncLogAppend): Promise<void> {
    const keyed = new Map<string, SharedSyncLogEntryInput>()
    for (const entry of append.entries) {
      const key = entryIdentityKey(append.userId, append.deviceId, entry.createdOn)
      if (!keyed.has(key)) {
        keyed.set(key, entry)
      }
    }
    // Up to APPEND_CHUNK entries per step (duplicate check, then one transaction),
    // so that one user's large write holds the database (SQLite has one writer)
    // and the event loop only briefly at a time. A write interrupted between
    // chunks leaves a prefix of its entries; the retried write skips them
    // (entryKey), and readers get the rest later.
    const keys = [...keyed.keys()]
    let sequence: number | undefined
    for (let start = 0; start < keys.length; start += APPEND_CHUNK) {
      const chunkKeys = keys.length <= APPEND_CHUNK ? keys : keys.slice(start, start + APPEND_CHUNK)
      const existing = (await this.operation('findEntriesByKeys', {
        userKey: append.userKey,
        keys: chunkKeys,
      })) as SharedSyncLogEntryRecord[]
      const stored = new Set(existing.map((record) => record.entryKey))
      const batch: OperationBatch = []
      for (const entryKey of chunkKeys) {
        if (stored.has(entryKey)) continue
        const entry = keyed.get(entryKey)!
        sequence ??= await this.getLastSequence(append.userKey)
        sequence += 1
        const args: Omit<SharedSyncLogEntryRecord, 'id'> & { id?: string } = {
          userId: append.userKey,
          deviceId: append.deviceId,
          createdOn: entry.createdOn,
          sharedOn: append.sharedOn,
          sequence,
          data: entry.data,
          entryKey,
        }
        if (append.hasExtraSentInfo) {
          args.extraSentInfo = { value: append.extraSentInfo }
        }
        if (this.autoPkType === 'string') {
          args.id = randomStringId()
        }
        batch.push({ operation: 'createObject', collection: SHARED_SYNC_LOG_ENTRY_COLLECTION, args })
      }
      if (batch.length) {
        await this.operation('executeBatch', { batch })
      }
    }
  }

  /** The highest sequence handed out in the user's log: its last entry, else where compaction left it (0 for a new user). */
  protected async getLastSequence(userKey: string): Promise<number> {
    const [last] = (await this.operation('findLastEntry', { userKey, order: DESCENDING })) as SharedSyncLogEntryRecord[]
    return last ? Number(last.sequence) : this.getCompactedUntil(userKey)
  }

  /** Entries of the user up to this sequence were compacted away (0: none). */
  protected async getCompactedUntil(userKey: string): Promise<number> {
    const user = (await this.operation('findUser', { userKey })) as SharedSyncLogUserRecord | null
    return user ? Number(user.compactedUntil) : 0
  }

  private async findDevice(userId: UserId, deviceId: DeviceId): Promise<SharedSyncLogDeviceInfoRecord | null> {
    if (!this.isDeviceIdOfOurType(deviceId)) {
      return null
    }
    const device = (await this.operation('findDeviceInfo', {
      deviceId,
      userKey: String(userId),
    })) as SharedSyncLogDeviceInfoRecord | null
    return device ?? null
  }

  private async requireDevice(userId: UserId, deviceId: DeviceId): Promise<SharedSyncLogDeviceInfoRecord> {
    const device = await this.findDevice(userId, deviceId)
    if (!device) {
      throw SharedSyncLogError.unknownDevice(deviceId)
    }
    return device
  }

  private isDeviceIdOfOurType(deviceId: unknown): deviceId is DeviceId {
    return this.autoPkType === 'int'
      ? typeof deviceId === 'number' && Number.isSafeInteger(deviceId)
      : typeof deviceId === 'string' && deviceId.length > 0
  }
}
