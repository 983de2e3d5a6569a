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
  type SharedSyncLogDeviceInfo,
  type SharedSyncLogEntry,
  type SharedSyncLogEntryInput,
  type SharedSyncLogMemo,
  type SharedSyncLogUpdate,
  type UserId,
} from '@storex-sync/shared-sync-log-core'
import {
  createSequenceMemo,
  entryIdentityKey,
  randomStringId,
  readSequenceMemo,
  validateBatchSize,
  validateEntryInputs,
  validateUserId,
} from '@storex-sync/shared-sync-log-core/implement'
import { KeyedMutex } from '@storex-sync/storex-glue'

export const SHARED_SYNC_LOG_ENTRY_COLLECTION = 'sharedSyncLogEntry'
export const SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION = 'sharedSyncLogDeviceInfo'

export interface SharedSyncLogStorageOptions extends StorageModuleConstructorArgs {
  /**
   * Type of the primary keys of the backend: 'int' lets the backend
   * auto-increment device ids (numbers); 'string' makes this module generate
   * random UUIDs (the backend's pk column must hold strings).
   */
  autoPkType: 'int' | 'string'
}

/** A row of `sharedSyncLogEntry`, as stored. */
export interface SharedSyncLogEntryRecord {
  id?: number | string
  /** The user id in its string form. */
  userId: string
  deviceId: DeviceId
  createdOn: number
  sharedOn: number
  /** Position in the user's log: 1, 2, 3, ... without gaps. */
  sequence: number
  data: string
  /** `{ value }` when the batch had `extraSentInfo`, so that `null` survives; else absent. */
  extraSentInfo?: { value: unknown } | null
  /** `entryIdentityKey(userId, deviceId, createdOn)`: what makes a re-write a duplicate. */
  entryKey: string
}

/** A row of `sharedSyncLogDeviceInfo`, as stored. */
export interface SharedSyncLogDeviceInfoRecord {
  id: DeviceId
  userId: string
  sharedUntil?: number | null
  /** Sequence of the last entry this device has seen (its cursor); 0 before the first. */
  cursor: number
}

/** What `appendEntries()` gets: a validated batch of a known device. */
export interface SharedSyncLogAppend {
  /** The user id in its string form, as stored. */
  userKey: string
  userId: UserId
  deviceId: DeviceId
  sharedOn: number
  /** Whether the batch carries `extraSentInfo` (`undefined` means it does not). */
  hasExtraSentInfo: boolean
  extraSentInfo: unknown
  entries: SharedSyncLogEntryInput[]
}

/** Most entries one transaction of `appendEntries()` stores. */
const APPEND_CHUNK = 1000

const ASCENDING: Array<[string, 'asc' | 'desc']> = [['sequence', 'asc']]
const DESCENDING: Array<[string, 'asc' | 'desc']> = [['sequence', 'desc']]

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
        'INVALID_ARGUMENT',
        `SharedSyncLogStorage needs autoPkType 'int' or 'string', got ${JSON.stringify(options.autoPkType)}; ` +
          "use 'int' when the backend auto-increments primary keys, 'string' when its pk columns hold strings",
      )
    }
    this.autoPkType = options.autoPkType
  }

  getConfig(): StorageModuleConfig {
    const pkType = this.autoPkType === 'int' ? 'int' : 'string'
    const version = new Date('2025-01-01')
    return {
      collections: {
        [SHARED_SYNC_LOG_ENTRY_COLLECTION]: {
          version,
          fields: {
            userId: { type: 'string' },
            deviceId: { type: pkType },
            createdOn: { type: 'float' },
            sharedOn: { type: 'float' },
            sequence: { type: 'float' },
            data: { type: 'text' },
            extraSentInfo: { type: 'json', optional: true },
            entryKey: { type: 'string' },
          },
          // (userId, sequence): a read's page (userId = ?, sequence > ?, ORDER BY sequence, LIMIT)
          // without sorting all of the user's entries.
          indices: [{ field: 'userId' }, { field: 'sequence' }, { field: 'entryKey' }, { field: ['userId', 'sequence'] }],
        },
        [SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION]: {
          version,
          fields: {
            userId: { type: 'string' },
            sharedUntil: { type: 'float', optional: true },
            cursor: { type: 'float' },
          },
          indices: [{ field: 'userId' }],
        },
      },
      operations: {
        createDeviceInfo: {
          operation: 'createObject',
          collection: SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
          args: '$object' as never,
        },
        findDeviceInfo: {
          operation: 'findObject',
          collection: SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION,
          args: { id: '$deviceId', userId: '$userKey' },
        },
        findEntriesByKeys: {
          operation: 'findObjects',
          collection: SHARED_SYNC_LOG_ENTRY_COLLECTION,
          args: [{ userId: '$userKey', entryKey: { $in: '$keys' } }] as never,
        },
        findLastEntry: {
          operation: 'findObjects',
          collection: SHARED_SYNC_LOG_ENTRY_COLLECTION,
          args: [{ userId: '$userKey' }, { order: '$order', limit: 1 }] as never,
        },
        findOwnEntriesAfter: {
          operation: 'findObjects',
          collection: SHARED_SYNC_LOG_ENTRY_COLLECTION,
          args: [{ userId: '$userKey', deviceId: '$deviceId', sequence: { $gt: '$after' } }, { order: '$order', limit: '$limit' }] as never,
        },
        findOtherEntriesAfter: {
          operation: 'findObjects',
          collection: SHARED_SYNC_LOG_ENTRY_COLLECTION,
          args: [
            { userId: '$userKey', deviceId: { $ne: '$deviceId' }, sequence: { $gt: '$after' } },
            { order: '$order', limit: '$limit' },
          ] as never,
        },
        executeBatch: {
          operation: 'executeBatch',
          args: ['$batch'] as never,
        },
      },
      accessRules: {
        ownership: {
          [SHARED_SYNC_LOG_DEVICE_INFO_COLLECTION]: { field: 'userId', access: ['list', 'read', 'create', 'update'] },
          [SHARED_SYNC_LOG_ENTRY_COLLECTION]: { field: 'userId', access: ['list', 'read', 'create'] },
        },
      },
    }
  }

  async createDeviceId(options: { userId: UserId; sharedUntil?: number | null }): Promise<DeviceId> {
    validateUserId(options.userId)
    const object: Omit<SharedSyncLogDeviceInfoRecord, 'id'> & { id?: DeviceId } = {
      userId: String(options.userId),
      sharedUntil: options.sharedUntil ?? null,
      cursor: 0,
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
    return device ? { sharedUntil: device.sharedUntil ?? null } : null
  }

  async writeEntries(
    entries: Array<SharedSyncLogEntryInput>,
    options: { userId: UserId; deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  ): Promise<void> {
    validateUserId(options.userId)
    validateEntryInputs(entries)
    await this.requireDevice(options.userId, options.deviceId)
    if (!entries.length) {
      return
    }
    const append: SharedSyncLogAppend = {
      userKey: String(options.userId),
      userId: options.userId,
      deviceId: options.deviceId,
      sharedOn: resolveNow(options.now),
      hasExtraSentInfo: options.extraSentInfo !== undefined,
      extraSentInfo: options.extraSentInfo,
      entries: entries.map((entry) => ({ createdOn: entry.createdOn, data: entry.data })),
    }
    await this.writeMutex.run(append.userKey, () => this.appendEntries(append))
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
    const hasMore = options.batchSize !== undefined && others.length > options.batchSize
    const page = hasMore ? others.slice(0, options.batchSize) : others
    const lastOfPage = page.length ? page[page.length - 1]!.sequence : after
    const end = hasMore ? lastOfPage : Math.max(lastOfPage, lastOwn?.sequence ?? after)
    return {
      entries: page.map((record) => toEntry(options.userId, record)),
      memo: createSequenceMemo(end),
      hasMore,
    }
  }

  async markAsSeen(
    update: { memo: SharedSyncLogMemo },
    options: { userId: UserId; deviceId: DeviceId; now?: Now },
  ): Promise<void> {
    validateUserId(options.userId)
    await this.requireDevice(options.userId, options.deviceId)
    const sequence = readSequenceMemo(update?.memo)
    if (sequence > (await this.getLastSequence(String(options.userId)))) {
      // Never handed out: accepting it would skip every entry written until the log got there.
      throw SharedSyncLogError.invalidMemo(update.memo)
    }
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
        updates: { sharedUntil: resolveNow(options.now) },
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

  /** The highest sequence in the user's log, 0 when it is empty. */
  protected async getLastSequence(userKey: string): Promise<number> {
    const [last] = (await this.operation('findLastEntry', { userKey, order: DESCENDING })) as SharedSyncLogEntryRecord[]
    return last ? Number(last.sequence) : 0
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

function toEntry(userId: UserId, record: SharedSyncLogEntryRecord): SharedSyncLogEntry {
  const entry: SharedSyncLogEntry = {
    userId,
    deviceId: record.deviceId,
    createdOn: Number(record.createdOn),
    sharedOn: Number(record.sharedOn),
    data: record.data,
  }
  const extra = record.extraSentInfo
  if (extra !== null && extra !== undefined && typeof extra === 'object' && 'value' in extra) {
    entry.extraSentInfo = extra.value
  }
  return entry
}
