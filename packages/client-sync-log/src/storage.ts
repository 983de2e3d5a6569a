import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import {
  StorageModule,
  type StorageModuleConfig,
  type StorageModuleConstructorArgs,
} from '@worldbrain/storex-pattern-modules'
import { HybridLogicalClock } from './clock'
import { ClientSyncLogError } from './errors'
import { compareEntries, fromStoredEntry, getEntryId, toStoredEntry, validateEntry } from './internal/entries'
import { CLIENT_SYNC_LOG_COLLECTION, clientSyncLogEntryCollection, type StoredLogEntry } from './internal/schema'
import { getObjectKey } from './pk'
import { Mutex } from './internal/mutex'
import {
  CLIENT_SYNC_LOG_QUARANTINE_COLLECTION,
  clientSyncLogQuarantineCollection,
  fromStoredQuarantinedEntry,
  toStoredQuarantinedEntry,
  type QuarantineEntryInput,
  type QuarantinedEntry,
  type StoredQuarantinedEntry,
} from './quarantine'
import type { ClientSyncLogEntry, DeviceId, ObjectPk } from './types'

/** An entry as it arrives from the shared log, before it is stored. */
export interface ReceivedClientSyncLogEntry {
  deviceId: DeviceId
  createdOn: number
  operation: ClientSyncLogEntry['operation']
  collection: string
  pk: ObjectPk
  value?: Record<string, unknown>
}

/** One object that needs integration, with its whole history sorted by compareEntries. */
export interface ObjectHistory {
  collection: string
  pk: ObjectPk
  entries: ClientSyncLogEntry[]
}

/** needsIntegration values: 0 integrated (or own), 1 pending, 2 pending but deferred for this sync. */
const NEEDS_INTEGRATION = 1
const DEFERRED_INTEGRATION = 2

/** Ids per `$in` query or batch step: well under SQLite's bound-parameter limit. */
const IN_CHUNK = 500
/** How many pending entries getNextObjectsToIntegrate reads per wanted object. */
const PENDING_ENTRIES_PER_OBJECT = 4

function chunk<T>(items: T[], size = IN_CHUNK): T[][] {
  const chunks: T[][] = []
  for (let index = 0; index < items.length; index += size) {
    chunks.push(items.slice(index, index + size))
  }
  return chunks
}

function checkPositiveInteger(name: string, value: number | undefined) {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ClientSyncLogError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${JSON.stringify(value)}.`)
  }
}

/**
 * The device-side sync log: every change to a synced collection, own or
 * received, as a storex-pattern-modules module with one collection,
 * `clientSyncLogEntry`. Register it with
 * `registerModuleMapCollections(storageManager.registry, { clientSyncLog })`
 * before `finishInitialization()`.
 */
export class ClientSyncLogStorage extends StorageModule {
  /** Issues createdOn values; shared with the logging middleware and doSync. */
  readonly clock = new HybridLogicalClock()

  private readonly storageRegistry: StorageRegistry
  private clockInitialization?: Promise<void>
  private readonly writeLock = new Mutex()

  constructor(args: StorageModuleConstructorArgs) {
    super(args)
    this.storageRegistry = args.storageManager.registry
  }

  getConfig(): StorageModuleConfig {
    const collection = CLIENT_SYNC_LOG_COLLECTION
    return {
      collections: {
        [collection]: clientSyncLogEntryCollection,
        [CLIENT_SYNC_LOG_QUARANTINE_COLLECTION]: clientSyncLogQuarantineCollection,
      },
      operations: {
        executeLogBatch: { operation: 'executeBatch', args: ['$batch'] },
        findEntries: { operation: 'findObjects', collection, args: ['$where', '$options'] },
        countEntries: { operation: 'countObjects', collection, args: ['$where'] },
        findQuarantined: {
          operation: 'findObjects',
          collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION,
          args: ['$where', '$options'],
        },
        countQuarantined: { operation: 'countObjects', collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, args: ['$where'] },
      },
    }
  }

  private async find(where: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<StoredLogEntry[]> {
    return (await this.operation('findEntries', { where, options })) ?? []
  }

  /** Rows whose `field` is one of `values`, in chunks small enough for every backend. */
  private async findIn<Row = StoredLogEntry>(
    field: string,
    values: string[],
    operation: 'findEntries' | 'findQuarantined' = 'findEntries',
  ): Promise<Row[]> {
    const found: Row[] = []
    for (const part of chunk(values)) {
      found.push(...(((await this.operation(operation, { where: { [field]: { $in: part } }, options: {} })) ?? []) as Row[]))
    }
    return found
  }

  private async executeBatch(batch: OperationBatch): Promise<void> {
    if (batch.length) {
      await this.runExclusive(() => this.operation('executeLogBatch', { batch }))
    }
  }

  /**
   * Runs `work` (a database batch) when no other batch of this device's sync
   * machinery runs: the logging middleware's writes, doSync's integration
   * batches and this module's own batches all go through here. SQLite through
   * TypeORM has one connection and fails ("cannot start a transaction within
   * a transaction") when two batches overlap, e.g. an app write while a sync
   * integrates.
   */
  runExclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.writeLock.run(work)
  }

  private revive(stored: StoredLogEntry[]): ClientSyncLogEntry[] {
    return stored.map((entry) => fromStoredEntry(this.storageRegistry, entry)).sort(compareEntries)
  }

  /**
   * Issues `count` strictly increasing clock values for changes made at
   * `wallNow`. The first call moves the clock past the greatest createdOn in
   * the log, so values keep increasing across restarts.
   */
  async nextTimestamps(count: number, wallNow: number): Promise<number[]> {
    if (!Number.isInteger(count) || count < 0) {
      throw new ClientSyncLogError('INVALID_ARGUMENT', `nextTimestamps(count) needs a count >= 0, got ${JSON.stringify(count)}.`)
    }
    if (!this.clockInitialization) {
      this.clockInitialization = this.initializeClock().catch((error) => {
        this.clockInitialization = undefined
        throw error
      })
    }
    await this.clockInitialization
    return Array.from({ length: count }, () => this.clock.next(wallNow))
  }

  private async initializeClock() {
    const [latest] = await this.find({}, { order: [['createdOn', 'desc']], limit: 1 })
    if (latest) {
      this.clock.observe(Number(latest.createdOn))
    }
  }

  /** createObject steps for these entries, to run in the same executeBatch as the data they describe. */
  getInsertEntriesBatch(entries: ClientSyncLogEntry[]): OperationBatch {
    return entries.map((entry, index) => {
      validateEntry(entry, `Log entry #${index}`)
      return { operation: 'createObject', collection: CLIENT_SYNC_LOG_COLLECTION, args: toStoredEntry(entry) }
    })
  }

  async insertEntries(entries: ClientSyncLogEntry[]): Promise<void> {
    await this.executeBatch(this.getInsertEntriesBatch(entries))
  }

  /** Own entries not yet shared, ascending createdOn, at most `batchSize`. */
  async getUnsharedEntries(options: { batchSize?: number } = {}): Promise<ClientSyncLogEntry[]> {
    checkPositiveInteger('batchSize', options.batchSize)
    const stored = await this.find(
      { unshared: 1 },
      { order: [['createdOn', 'asc']], ...(options.batchSize ? { limit: options.batchSize } : {}) },
    )
    return this.revive(stored)
  }

  /** Marks exactly these entries as shared (and no others). */
  async markAsShared(
    entries: Array<Pick<ClientSyncLogEntry, 'deviceId' | 'createdOn'>>,
    options: { sharedOn: number },
  ): Promise<void> {
    const ids = entries.map((entry) => getEntryId(entry.deviceId, entry.createdOn))
    await this.executeBatch(
      chunk(ids).map((part) => ({
        operation: 'updateObjects',
        collection: CLIENT_SYNC_LOG_COLLECTION,
        where: { id: { $in: part } },
        updates: { sharedOn: options.sharedOn, unshared: 0 },
      })),
    )
  }

  /**
   * Stores entries received from the shared log as needing integration.
   * Entries already in the log (same deviceId and createdOn) are skipped.
   * The clock observes every received createdOn.
   */
  async insertReceivedEntries(
    entries: ReceivedClientSyncLogEntry[],
    options: { now: number },
  ): Promise<{ inserted: number; duplicates: number }> {
    const candidates = entries.map((received, index): ClientSyncLogEntry => {
      const entry = {
        deviceId: received.deviceId,
        createdOn: received.createdOn,
        sharedOn: options.now,
        needsIntegration: true,
        operation: received.operation,
        collection: received.collection,
        pk: received.pk,
        ...(received.operation !== 'delete' ? { value: received.value } : {}),
      } as ClientSyncLogEntry
      validateEntry(entry, `Received entry #${index}`)
      return entry
    })

    const byId = new Map<string, ClientSyncLogEntry>()
    for (const entry of candidates) {
      const id = getEntryId(entry.deviceId, entry.createdOn)
      if (!byId.has(id)) {
        byId.set(id, entry)
      }
    }
    const existing = new Set((await this.findIn('id', [...byId.keys()])).map((entry) => entry.id))
    const toInsert = [...byId].filter(([id]) => !existing.has(id)).map(([, entry]) => entry)
    await this.insertEntries(toInsert)
    for (const entry of candidates) {
      this.clock.observe(entry.createdOn)
    }
    return { inserted: toInsert.length, duplicates: candidates.length - toInsert.length }
  }

  /**
   * Objects with entries that need integration, the one with the oldest such
   * entry first, each with its whole history. At most `maxObjects` (may be
   * fewer while more remain; call again until it returns an empty list).
   */
  async getNextObjectsToIntegrate(options: { maxObjects?: number } = {}): Promise<ObjectHistory[]> {
    checkPositiveInteger('maxObjects', options.maxObjects)
    // Only the order and the object keys of pending entries matter here: their
    // values are read (and revived) once, with the objects' histories.
    const pending = (
      await this.find(
        { needsIntegration: 1 },
        {
          order: [['createdOn', 'asc']],
          ...(options.maxObjects ? { limit: options.maxObjects * PENDING_ENTRIES_PER_OBJECT } : {}),
        },
      )
    ).sort((a, b) => compareEntries(clockOf(a), clockOf(b)))
    const histories = new Map<string, ClientSyncLogEntry[]>()
    for (const stored of pending) {
      if (options.maxObjects && histories.size >= options.maxObjects) {
        break
      }
      histories.set(stored.objectKey, [])
    }
    if (!histories.size) {
      return []
    }
    for (const stored of await this.findIn('objectKey', [...histories.keys()])) {
      histories.get(stored.objectKey)?.push(fromStoredEntry(this.storageRegistry, stored))
    }
    return [...histories.values()]
      .filter((entries) => entries.length)
      .map((entries) => {
        entries.sort(compareEntries)
        return { collection: entries[0]!.collection, pk: entries[0]!.pk, entries }
      })
  }

  /** updateObjects steps marking these entries integrated, for doSync's batch with the reconciliation. */
  getMarkAsIntegratedBatch(entries: ClientSyncLogEntry[]): OperationBatch {
    const ids = entries.map((entry) => getEntryId(entry.deviceId, entry.createdOn))
    return chunk(ids).map((part) => ({
      operation: 'updateObjects',
      collection: CLIENT_SYNC_LOG_COLLECTION,
      where: { id: { $in: part } },
      updates: { needsIntegration: 0 },
    }))
  }

  async markAsIntegrated(entries: ClientSyncLogEntry[]): Promise<void> {
    await this.executeBatch(this.getMarkAsIntegratedBatch(entries))
  }

  /** The whole history of one object, sorted by compareEntries. */
  async getEntriesForObject(collection: string, pk: ObjectPk): Promise<ClientSyncLogEntry[]> {
    return this.revive(await this.find({ objectKey: getObjectKey(collection, pk) }))
  }

  /** Every entry, sorted by compareEntries (for tests and debugging). */
  async getEntries(): Promise<ClientSyncLogEntry[]> {
    return this.revive(await this.find({}))
  }

  /** Counts own entries not yet shared and received entries not yet integrated (deferred ones included). */
  async countPending(): Promise<{ unshared: number; needsIntegration: number }> {
    const unshared = await this.operation('countEntries', { where: { unshared: 1 } })
    const needsIntegration = await this.operation('countEntries', { where: { needsIntegration: NEEDS_INTEGRATION } })
    const deferred = await this.operation('countEntries', { where: { needsIntegration: DEFERRED_INTEGRATION } })
    return { unshared: Number(unshared), needsIntegration: Number(needsIntegration) + Number(deferred) }
  }

  /**
   * Keeps these pending entries out of `getNextObjectsToIntegrate()` until
   * `resumeDeferredIntegration()`: doSync defers the objects a reconciler
   * failed on, so the others proceed. They stay pending (needsIntegration).
   */
  async deferIntegration(entries: Array<Pick<ClientSyncLogEntry, 'deviceId' | 'createdOn'>>): Promise<void> {
    const ids = entries.map((entry) => getEntryId(entry.deviceId, entry.createdOn))
    await this.executeBatch(
      chunk(ids).map((part) => ({
        operation: 'updateObjects',
        collection: CLIENT_SYNC_LOG_COLLECTION,
        where: { id: { $in: part }, needsIntegration: NEEDS_INTEGRATION },
        updates: { needsIntegration: DEFERRED_INTEGRATION },
      })),
    )
  }

  /** Makes deferred entries available to `getNextObjectsToIntegrate()` again (doSync calls it before integrating). */
  async resumeDeferredIntegration(): Promise<void> {
    await this.executeBatch([
      {
        operation: 'updateObjects',
        collection: CLIENT_SYNC_LOG_COLLECTION,
        where: { needsIntegration: DEFERRED_INTEGRATION },
        updates: { needsIntegration: NEEDS_INTEGRATION },
      },
    ])
  }

  /**
   * Sets received entries aside that cannot be stored in the log (see
   * `findReceivedEntryProblem`), with their reason. An entry already in the
   * quarantine (same deviceId and createdOn) is not added again. The clock
   * observes every valid createdOn.
   */
  async quarantineEntries(entries: QuarantineEntryInput[], options: { now: number }): Promise<{ quarantined: number; duplicates: number }> {
    const byId = new Map<string, StoredQuarantinedEntry>()
    for (const entry of entries) {
      const stored = toStoredQuarantinedEntry(entry, options.now)
      if (!byId.has(stored.id)) {
        byId.set(stored.id, stored)
      }
    }
    const existing = new Set(
      (await this.findIn<StoredQuarantinedEntry>('id', [...byId.keys()], 'findQuarantined')).map((stored) => stored.id),
    )
    const toInsert = [...byId.values()].filter((stored) => !existing.has(stored.id))
    await this.executeBatch(
      toInsert.map((args) => ({ operation: 'createObject', collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, args })),
    )
    for (const entry of entries) {
      if (typeof entry.createdOn === 'number') {
        this.clock.observe(entry.createdOn)
      }
    }
    return { quarantined: toInsert.length, duplicates: entries.length - toInsert.length }
  }

  /** Every quarantined entry, oldest quarantine first (ties by id). */
  async getQuarantinedEntries(): Promise<QuarantinedEntry[]> {
    const stored: StoredQuarantinedEntry[] = (await this.operation('findQuarantined', { where: {}, options: {} })) ?? []
    return stored
      .map(fromStoredQuarantinedEntry)
      .sort((a, b) => a.quarantinedOn - b.quarantinedOn || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  async countQuarantinedEntries(): Promise<number> {
    return Number(await this.operation('countQuarantined', { where: {} }))
  }

  /**
   * Removes quarantined entries: those with these ids, or all of them. Use it
   * after you dealt with them (or after a retry stored them in the log).
   */
  async clearQuarantinedEntries(options: { ids?: string[] } = {}): Promise<{ deleted: number }> {
    const ids = options.ids ?? (await this.getQuarantinedEntries()).map((entry) => entry.id)
    await this.executeBatch(
      chunk(ids).map((part) => ({
        operation: 'deleteObjects',
        collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION,
        where: { id: { $in: part } },
      })),
    )
    return { deleted: ids.length }
  }

  /**
   * Deletes entries that can no longer change what a reconciler decides:
   * shared (or received), integrated entries superseded by later integrated
   * entries of the same object: everything before the object's latest delete
   * (the delete stays as a tombstone), and modifies whose every field a later
   * create or modify overwrites. Objects with entries awaiting integration
   * are left alone, and so is the entry with the greatest createdOn (the clock
   * restarts from it).
   */
  async deleteObsoleteEntries(): Promise<{ deleted: number }> {
    const entries = await this.getEntries()
    if (!entries.length) {
      return { deleted: 0 }
    }
    const newest = entries[entries.length - 1]!
    const byObject = new Map<string, ClientSyncLogEntry[]>()
    for (const entry of entries) {
      const key = getObjectKey(entry.collection, entry.pk)
      const list = byObject.get(key) ?? []
      list.push(entry)
      byObject.set(key, list)
    }

    const obsolete: ClientSyncLogEntry[] = []
    for (const history of byObject.values()) {
      if (history.some((entry) => entry.needsIntegration)) {
        continue
      }
      let lastDelete = -1
      history.forEach((entry, index) => {
        if (entry.operation === 'delete') {
          lastDelete = index
        }
      })
      const laterFields = new Set<string>()
      for (let index = history.length - 1; index >= 0; index -= 1) {
        const entry = history[index]!
        const removable = entry.sharedOn !== null && entry !== newest
        if (index < lastDelete) {
          if (removable) {
            obsolete.push(entry)
          }
          continue
        }
        if (entry.operation === 'modify' && removable && Object.keys(entry.value).every((field) => laterFields.has(field))) {
          obsolete.push(entry)
        }
        if (entry.operation !== 'delete') {
          for (const field of Object.keys(entry.value)) {
            laterFields.add(field)
          }
        }
      }
    }

    const ids = obsolete.map((entry) => getEntryId(entry.deviceId, entry.createdOn))
    try {
      await this.executeBatch(
        chunk(ids).map((part) => ({
          operation: 'deleteObjects',
          collection: CLIENT_SYNC_LOG_COLLECTION,
          where: { id: { $in: part } },
        })),
      )
    } catch (error) {
      if (/no such column: clientSyncLogEntry\.|missing FROM-clause entry for table "clientSyncLogEntry"/i.test(String((error as Error)?.message))) {
        throw new ClientSyncLogError(
          'BACKEND_CANNOT_DELETE',
          'the storage backend failed to delete log entries: @worldbrain/storex-backend-typeorm 0.2.1 cannot run deleteObjects ' +
            'on collections with camelCase names (it aliases the table by the camelCase name). Nothing was deleted. Move SQL ' +
            'databases to @storex-sync/storex-backend-sql (see this package\'s README), or skip the cleanup.',
          { cause: error },
        )
      }
      throw error
    }
    return { deleted: ids.length }
  }
}

function clockOf(stored: StoredLogEntry): Pick<ClientSyncLogEntry, 'createdOn' | 'deviceId'> {
  return { createdOn: Number(stored.createdOn), deviceId: stored.deviceId as DeviceId }
}
