import { findObsoleteEntries } from './history'
import { objectSyncStates, type ObjectSyncState } from './object-states'
import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import {
  StorageModule,
  type StorageModuleConfig,
  type StorageModuleConstructorArgs,
} from '@worldbrain/storex-pattern-modules'
import { HybridLogicalClock } from './clock'
import { ClientSyncLogError } from './errors'
import { compareEntries, compareStrings, fromStoredEntry, getEntryId, toStoredEntry, validateEntry } from './internal/entries'
import { chunk, deleteRowsSteps, entryIdsOf, firstOfEachId, updateRowsSteps } from './internal/batch-steps'
import {
  CLIENT_SYNC_LOG_COLLECTION,
  CLIENT_SYNC_LOG_STATE_COLLECTION,
  DEFERRED_INTEGRATION,
  NEEDS_INTEGRATION,
  clientSyncLogEntryCollection,
  clientSyncLogStateCollection,
  type StoredLogEntry,
  type StoredStateRow,
} from './internal/schema'
import {
  deviceStateSteps,
  readDeviceState,
  sameDeviceState,
  type DeviceIdentity,
  type DeviceStateChanges,
  type DeviceStateSnapshot,
} from './internal/device-state'
import { getObjectKey } from './pk'
import { baselineEntries, baselineRowId, objectKeysOf } from './internal/baseline'
import { ChangeChannel, type SyncChange, type SyncChangeListener } from './internal/change-channel'
import { withDatabaseLock } from './internal/database-lock'
import { installWriteQueue, type WriteQueue } from './internal/write-queue'
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
import {
  CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
  clientSyncLogOutgoingQuarantineCollection,
  listOutgoing,
  planOutgoingDiscard,
  quarantineOutgoing,
  releaseOutgoing,
  settleBehindDeletes,
  UNSHARED_QUARANTINED,
  type OutgoingDiscardPlan,
  type OutgoingQuarantineContext,
  type OutgoingQuarantineInput,
  type OutgoingQuarantinedEntry,
  type StoredOutgoingQuarantinedEntry,
} from './outgoing-quarantine'

/** A change to log, before the clock gives it its createdOn. */
export type PendingLogEntry =
  | { operation: 'create' | 'modify'; collection: string; pk: ObjectPk; value: Record<string, unknown> }
  | { operation: 'delete'; collection: string; pk: ObjectPk }

export interface ClientSyncLogStorageOptions extends StorageModuleConstructorArgs {
  /**
   * A name every StorageManager over this same database shares (browser tabs,
   * workers, processes on one SQLite file). It names the cross-tab locks and
   * change notifications. Default: the backend's `dbName` (the IndexedDB
   * backends have one); set it for other backends that several instances open.
   */
  databaseName?: string
}

/** How often a write is tried again when another instance wrote the clock at the same moment. */
const CLOCK_ATTEMPTS = 5

let instanceCounter = 0

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

/** How many pending entries getNextObjectsToIntegrate reads per wanted object. */
const PENDING_ENTRIES_PER_OBJECT = 4

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
  /** This instance's view of the device clock (the stored clock is the reference; see `writeWithLogEntries`). */
  readonly clock = new HybridLogicalClock()
  /** The name of the database for cross-tab locks and notifications, or null when it has none. */
  readonly databaseName: string | null

  private readonly storageRegistry: StorageRegistry
  private readonly backend: { operation(name: string, ...args: unknown[]): Promise<unknown> }
  private readonly writeQueue: WriteQueue
  private readonly lockPrefix: string
  private readonly changes: ChangeChannel
  private readonly syncedCollections = new Set<string>()

  constructor(args: ClientSyncLogStorageOptions) {
    super(args)
    this.storageRegistry = args.storageManager.registry
    const backend = args.storageManager.backend as { dbName?: unknown; databaseName?: unknown } | undefined
    const derived = typeof backend?.dbName === 'string' ? backend.dbName : typeof backend?.databaseName === 'string' ? backend.databaseName : null
    this.databaseName = args.databaseName ?? derived
    this.lockPrefix = this.databaseName !== null ? `storex-sync:${this.databaseName}` : `storex-sync:instance-${++instanceCounter}-${Math.random().toString(36).slice(2)}`
    this.changes = new ChangeChannel(this.databaseName !== null ? `storex-sync:${this.databaseName}` : null)
    this.writeQueue = installWriteQueue(args.storageManager)
    // The real backend: batches admitted by the write queue go straight to it.
    this.backend = backend as unknown as ClientSyncLogStorage['backend']
  }

  getConfig(): StorageModuleConfig {
    const collection = CLIENT_SYNC_LOG_COLLECTION
    return {
      collections: {
        [collection]: clientSyncLogEntryCollection,
        [CLIENT_SYNC_LOG_QUARANTINE_COLLECTION]: clientSyncLogQuarantineCollection,
        [CLIENT_SYNC_LOG_STATE_COLLECTION]: clientSyncLogStateCollection,
        [CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION]: clientSyncLogOutgoingQuarantineCollection,
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
        findState: { operation: 'findObjects', collection: CLIENT_SYNC_LOG_STATE_COLLECTION, args: ['$where'] },
        findOutgoingQuarantined: {
          operation: 'findObjects',
          collection: CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
          args: ['$where', '$options'],
        },
        countOutgoingQuarantined: {
          operation: 'countObjects',
          collection: CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
          args: ['$where'],
        },
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
    operation: 'findEntries' | 'findQuarantined' | 'findOutgoingQuarantined' = 'findEntries',
  ): Promise<Row[]> {
    const found: Row[] = []
    for (const part of chunk(values)) {
      found.push(...(((await this.operation(operation, { where: { [field]: { $in: part } }, options: {} })) ?? []) as Row[]))
    }
    return found
  }

  /** Runs a batch of the log's own steps through the storage manager's write queue. */
  private async executeBatch(batch: OperationBatch): Promise<void> {
    if (batch.length) {
      await this.operation('executeLogBatch', { batch })
    }
  }

  private revive(stored: StoredLogEntry[]): ClientSyncLogEntry[] {
    return stored.map((entry) => fromStoredEntry(this.storageRegistry, entry)).sort(compareEntries)
  }

  /**
   * Runs `work` while it is the only writer of this device's state (clock,
   * device id, baseline counter): across tabs and workers (Web Locks, or this
   * realm's instances without them) and within this storage manager (its
   * write queue). `work` gets the state as stored and a way to write a batch
   * that changes it; when that batch fails because another writer (a process
   * without a shared lock) changed the state at the same moment, it runs
   * again on the new state, so a clock value is never issued twice and
   * nothing is overwritten.
   */
  private withDeviceState<T>(
    wallNow: number | undefined,
    work: (
      state: DeviceStateSnapshot,
      write: (steps: OperationBatch, changes: DeviceStateChanges, execute?: (batch: OperationBatch) => Promise<unknown>) => Promise<unknown>,
    ) => Promise<T>,
  ): Promise<T> {
    return withDatabaseLock(`${this.lockPrefix}:clock`, () =>
      this.writeQueue.run(async (admit) => {
        for (let attempt = 1; ; attempt += 1) {
          const state = await this.readDeviceState(wallNow)
          this.clock.observe(state.clock)
          const write = (steps: OperationBatch, changes: DeviceStateChanges, execute?: (batch: OperationBatch) => Promise<unknown>) => {
            const batch = [...steps, ...deviceStateSteps(state, changes)]
            return execute ? execute(admit(batch)) : this.backend.operation('executeBatch', admit(batch))
          }
          try {
            return await work(state, write)
          } catch (error) {
            const changedMeanwhile = !sameDeviceState(state, await this.readDeviceState(wallNow))
            if (!changedMeanwhile || attempt >= CLOCK_ATTEMPTS) {
              throw error
            }
          }
        }
      }),
    )
  }

  private readDeviceState(wallNow: number | undefined): Promise<DeviceStateSnapshot> {
    return readDeviceState(
      {
        findState: async (ids) => ((await this.operation('findState', { where: { id: { $in: ids } } })) ?? []) as StoredStateRow[],
        latestLoggedClockValue: async (bound) => {
          const [latest] = await this.find({ createdOn: { $lte: bound } }, { order: [['createdOn', 'desc']], limit: 1 })
          return latest ? Number(latest.createdOn) : 0
        },
      },
      wallNow,
    )
  }

  /**
   * Records the objects of these collections that exist without a log entry
   * (written before sync was enabled, or in a collection added to the synced
   * ones later) as create entries, so they reach the other devices and
   * integration treats them as existing. Once per collection (a state row
   * remembers it): O(objects) the first time, one read after that. The
   * logging middleware runs it before its first write to a collection.
   */
  async recordExistingObjects(options: { collections?: string[]; deviceId?: DeviceId; now?: number } = {}): Promise<{ recorded: number }> {
    const collections = options.collections ?? [...this.syncedCollections]
    if (!collections.length) {
      return { recorded: 0 }
    }
    const done = new Set(
      (((await this.operation('findState', { where: { id: { $in: collections.map(baselineRowId) } } })) ?? []) as StoredStateRow[]).map((row) => row.id),
    )
    let recorded = 0
    for (const collection of collections) {
      if (done.has(baselineRowId(collection))) {
        continue
      }
      const objects = ((await this.backend.operation('findObjects', collection, {})) ?? []) as Array<Record<string, unknown>>
      recorded += await this.recordBaselineObjects(collection, objects, {
        ...options,
        markDone: true,
      })
    }
    return { recorded }
  }

  /**
   * Records these objects (read from the database) as existing; returns how
   * many entries it wrote. Objects that have an entry this device wrote or
   * applied are skipped: the log knows them already. doSync runs it for
   * objects that receive entries but have no applied entry.
   */
  async recordBaselineObjects(
    collection: string,
    objects: Array<Record<string, unknown>>,
    options: { deviceId?: DeviceId; now?: number; markDone?: boolean } = {},
  ): Promise<number> {
    const keys = objectKeysOf(this.storageRegistry, collection, objects)
    const known = new Set((await this.findIn('objectKey', keys)).filter((stored) => Number(stored.needsIntegration) === 0).map((stored) => stored.objectKey))
    const unknown = objects.filter((_object, index) => !known.has(keys[index]!))
    return this.withDeviceState(options.now, async (state, write) => {
      if (options.markDone && (await this.operation('findState', { where: { id: baselineRowId(collection) } }))?.length) {
        return 0 // another tab recorded it meanwhile
      }
      const { deviceId, device } = writingDevice(state, options.deviceId)
      const low = await this.find({ createdOn: { $lte: state.baselineCounter + unknown.length } })
      const { entries, counter } = baselineEntries({
        storageRegistry: this.storageRegistry,
        collection,
        objects: unknown,
        deviceId,
        counter: state.baselineCounter,
        takenIds: new Set(low.map((stored) => stored.id)),
      })
      const steps: OperationBatch = [
        ...this.getInsertEntriesBatch(entries),
        ...(options.markDone
          ? [{ operation: 'createObject' as const, collection: CLIENT_SYNC_LOG_STATE_COLLECTION, args: { id: baselineRowId(collection), value: options.now ?? Date.now() } }]
          : []),
      ]
      if (steps.length) {
        await write(steps, { baselineCounter: counter, ...(device ? { device } : {}) })
      }
      return entries.length
    })
  }

  /**
   * The collections whose writes are logged (the logging middleware declares
   * them), whose existing objects doSync records before it shares.
   */
  declareSyncedCollections(collections: string[]): void {
    for (const collection of collections) {
      this.syncedCollections.add(collection)
    }
  }

  /** The device's id as stored (made on the device at its first logged write, registered at its first sync), or null. */
  async getDeviceIdentity(): Promise<DeviceIdentity | null> {
    return (await this.readDeviceState(undefined)).device
  }

  /**
   * Writes `dataSteps` and log entries for `entries` in one batch, with
   * createdOn values the stored clock issues at `now`: any number of
   * StorageManagers over one database never issue the same value, and the
   * clock never repeats one (it throws CLOCK_EXHAUSTED instead). `execute`
   * runs the batch (the logging middleware hands it to the next middleware);
   * it must pass the same array on. Listeners of `onChange` hear of it.
   */
  async writeWithLogEntries<R>(options: {
    /** Default: the device id stored in the log (made here, as a provisional id, when there is none yet). */
    deviceId?: DeviceId
    now: number
    entries: PendingLogEntry[]
    dataSteps: OperationBatch
    execute: (batch: OperationBatch) => Promise<R>
  }): Promise<{ result: R; entries: ClientSyncLogEntry[] }> {
    return this.withDeviceState(options.now, async (state, write) => {
      const { deviceId, device } = writingDevice(state, options.deviceId)
      const entries = options.entries.map(
        (entry) => ({ ...entry, createdOn: this.clock.next(options.now), deviceId, sharedOn: null, needsIntegration: false }) as ClientSyncLogEntry,
      )
      const batch = [...options.dataSteps, ...this.getInsertEntriesBatch(entries)]
      const result = (await write(batch, { clock: this.clock.current, ...(device ? { device } : {}) }, options.execute)) as R
      return { entries, result }
    })
  }

  /**
   * The device id to sync with: the stored one once registered; otherwise
   * `register()` (the shared log's createDeviceId) gives one, and every entry
   * written under the provisional id moves to it in one batch, with the id.
   * Another tab that registered meanwhile wins (its id is kept).
   */
  async registerDevice(register: () => Promise<DeviceId>, options: { now?: number } = {}): Promise<DeviceId> {
    const known = await this.getDeviceIdentity()
    if (known?.registered) {
      return known.deviceId
    }
    const assigned = await register()
    return this.withDeviceState(options.now, async (state, write) => {
      if (state.device?.registered) {
        return state.device.deviceId
      }
      const provisional = state.device?.deviceId
      const moved =
        provisional === undefined
          ? []
          : (await this.find({ unshared: 1 })).filter((stored) => stored.deviceId === provisional).map((stored) => fromStoredEntry(this.storageRegistry, stored))
      const steps: OperationBatch = [
        ...deleteRowsSteps(CLIENT_SYNC_LOG_COLLECTION, entryIdsOf(moved)),
        ...this.getInsertEntriesBatch(moved.map((entry) => ({ ...entry, deviceId: assigned }))),
      ]
      await write(steps, { device: { deviceId: assigned, registered: true } })
      return assigned
    })
  }

  /**
   * Reserves `count` strictly increasing clock values for changes made at
   * `wallNow`, from the stored clock (so no other instance issues them).
   * Write entries with these values through `insertEntries`.
   */
  async nextTimestamps(count: number, wallNow: number): Promise<number[]> {
    if (!Number.isInteger(count) || count < 0) {
      throw new ClientSyncLogError('INVALID_ARGUMENT', `nextTimestamps(count) needs a count >= 0, got ${JSON.stringify(count)}.`)
    }
    return this.withDeviceState(wallNow, async (_state, write) => {
      const values = Array.from({ length: count }, () => this.clock.next(wallNow))
      if (count) {
        await write([], { clock: this.clock.current })
      }
      return values
    })
  }

  /** createObject steps for these entries, to run in the same executeBatch as the data they describe. */
  getInsertEntriesBatch(entries: ClientSyncLogEntry[]): OperationBatch {
    return entries.map((entry, index) => {
      validateEntry(entry, () => `Log entry #${index}`)
      return { operation: 'createObject', collection: CLIENT_SYNC_LOG_COLLECTION, args: toStoredEntry(entry) }
    })
  }

  /**
   * Stores entries that already have their createdOn (from nextTimestamps, or
   * copied from another log). An entry whose (deviceId, createdOn) is already
   * in the log is never overwritten: the call throws DUPLICATE_ENTRY and
   * stores nothing.
   */
  async insertEntries(entries: ClientSyncLogEntry[]): Promise<void> {
    const steps = this.getInsertEntriesBatch(entries)
    if (!steps.length) {
      return
    }
    const ids = entryIdsOf(entries)
    if (new Set(ids).size !== ids.length) {
      throw new ClientSyncLogError('DUPLICATE_ENTRY', 'insertEntries() got two entries with the same deviceId and createdOn; give every entry its own clock value.')
    }
    await this.withDeviceState(undefined, async (state, write) => {
      const existing = await this.findIn('id', ids)
      if (existing.length) {
        throw new ClientSyncLogError(
          'DUPLICATE_ENTRY',
          `the log already holds an entry of device ${JSON.stringify(existing[0]!.deviceId)} at createdOn ${existing[0]!.createdOn}; ` +
            'a log entry is never overwritten. Nothing was stored; take clock values from nextTimestamps().',
        )
      }
      await write(steps, { clock: latestOf(entries, state.clock) })
    })
  }

  /**
   * Calls `listener` for every change to this device's data: writes logged
   * here or in another tab over the same database, and received changes a
   * sync applied. Returns a function that unsubscribes.
   */
  onChange(listener: SyncChangeListener): () => void {
    return this.changes.subscribe(listener)
  }

  /** Tells this instance's listeners and the other tabs over this database about a change (the logging middleware and doSync call it). */
  notifyChange(change: Omit<SyncChange, 'origin'>): void {
    this.changes.publish(change)
  }

  /**
   * Runs `work` while no other sync of this device runs, across tabs and
   * workers over the same database (doSync calls it).
   */
  runSyncExclusive<T>(work: () => Promise<T>): Promise<T> {
    return withDatabaseLock(`${this.lockPrefix}:sync`, work)
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

  /**
   * Marks exactly these entries as shared (and no others). With
   * `needsIntegration: true` they are also marked as needing integration, in
   * the same batch (doSync's `reconcileLocalWrites`: own writes then pass
   * through the reconciler).
   */
  async markAsShared(
    entries: Array<Pick<ClientSyncLogEntry, 'deviceId' | 'createdOn'>>,
    options: { sharedOn: number; needsIntegration?: boolean },
  ): Promise<void> {
    const updates = { sharedOn: options.sharedOn, unshared: 0, ...(options.needsIntegration ? { needsIntegration: NEEDS_INTEGRATION } : {}) }
    await this.executeBatch(updateRowsSteps(CLIENT_SYNC_LOG_COLLECTION, entryIdsOf(entries), updates))
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
      validateEntry(entry, () => `Received entry #${index}`, { now: options.now })
      return entry
    })

    const byId = new Map<string, ClientSyncLogEntry>()
    for (const entry of candidates) {
      const id = getEntryId(entry.deviceId, entry.createdOn)
      if (!byId.has(id)) {
        byId.set(id, entry)
      }
    }
    // The clock moves past what is received in the same batch that stores it.
    const inserted = await this.withDeviceState(options.now, async (state, write) => {
      const existing = new Set((await this.findIn('id', [...byId.keys()])).map((entry) => entry.id))
      const toInsert = [...byId].filter(([id]) => !existing.has(id)).map(([, entry]) => entry)
      if (toInsert.length) {
        await write(this.getInsertEntriesBatch(toInsert), { clock: latestOf(toInsert, state.clock) })
      }
      return toInsert.length
    })
    for (const entry of candidates) {
      this.clock.observe(entry.createdOn)
    }
    return { inserted, duplicates: candidates.length - inserted }
  }

  /** True when the log holds any entry (a device with none can start from a snapshot). */
  async hasEntries(): Promise<boolean> {
    return (await this.find({}, { limit: 1 })).length > 0
  }

  /**
   * Stores the entries of a snapshot page as received and already integrated,
   * in the same database batch as `operations` (the objects they make), for a
   * device whose log holds none of these objects yet (a new device). Entries
   * already held are skipped; the clock observes every createdOn.
   */
  async insertSnapshotEntries(
    entries: ReceivedClientSyncLogEntry[],
    operations: OperationBatch,
    options: { now: number },
  ): Promise<{ inserted: number }> {
    const byId = new Map<string, ClientSyncLogEntry>()
    entries.forEach((received, index) => {
      // Spelled out, not spread: two shapes for hundreds of thousands of entries.
      const entry = (
        received.operation === 'delete'
          ? { deviceId: received.deviceId, createdOn: received.createdOn, operation: received.operation, collection: received.collection, pk: received.pk, sharedOn: options.now, needsIntegration: false }
          : { deviceId: received.deviceId, createdOn: received.createdOn, operation: received.operation, collection: received.collection, pk: received.pk, value: received.value, sharedOn: options.now, needsIntegration: false }
      ) as ClientSyncLogEntry
      validateEntry(entry, () => `Snapshot entry #${index}`, { now: options.now })
      byId.set(getEntryId(entry.deviceId, entry.createdOn), entry)
    })
    const inserted = await this.withDeviceState(options.now, async (state, write) => {
      const existing = new Set((await this.findIn('id', [...byId.keys()])).map((entry) => entry.id))
      const toInsert = [...byId].filter(([id]) => !existing.has(id))
      // Checked above (with the clock bound), and the ids are known: a bootstrap stores thousands of these per page.
      const steps: OperationBatch = toInsert.map(([id, entry]) => ({ operation: 'createObject', collection: CLIENT_SYNC_LOG_COLLECTION, args: toStoredEntry(entry, id) }))
      await write([...operations, ...steps], { clock: latestOf(toInsert.map(([, entry]) => entry), state.clock) })
      return toInsert.length
    })
    for (const entry of byId.values()) {
      this.clock.observe(entry.createdOn)
    }
    return { inserted }
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
        { needsIntegration: NEEDS_INTEGRATION },
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
    return updateRowsSteps(CLIENT_SYNC_LOG_COLLECTION, entryIdsOf(entries), { needsIntegration: 0 })
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
  /**
   * Which objects have changes not yet sent (or set aside) or not yet
   * applied, per object, for an app to show "not synced yet" next to them.
   * Objects absent from the result are in sync. `collection` narrows it.
   */
  async getObjectSyncStates(options: { collection?: string } = {}): Promise<ObjectSyncState[]> {
    const where = (condition: Record<string, unknown>) => (options.collection ? { ...condition, collection: options.collection } : condition)
    const [unsent, setAside, pending, deferred] = await Promise.all([
      this.find(where({ unshared: 1 })),
      this.find(where({ unshared: UNSHARED_QUARANTINED })),
      this.find(where({ needsIntegration: NEEDS_INTEGRATION })),
      this.find(where({ needsIntegration: DEFERRED_INTEGRATION })),
    ])
    return objectSyncStates({ unsent, setAside, unapplied: [...pending, ...deferred] })
  }

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
    await this.executeBatch(
      updateRowsSteps(CLIENT_SYNC_LOG_COLLECTION, entryIdsOf(entries), { needsIntegration: DEFERRED_INTEGRATION }, { needsIntegration: NEEDS_INTEGRATION }),
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
   * does not observe them: a quarantined createdOn may be far off.
   */
  async quarantineEntries(entries: QuarantineEntryInput[], options: { now: number }): Promise<{ quarantined: number; duplicates: number }> {
    const byId = firstOfEachId(
      entries.map((entry) => toStoredQuarantinedEntry(entry, options.now)),
      (stored) => stored.id,
    )
    const existing = new Set(
      (await this.findIn<StoredQuarantinedEntry>('id', [...byId.keys()], 'findQuarantined')).map((stored) => stored.id),
    )
    const toInsert = [...byId.values()].filter((stored) => !existing.has(stored.id))
    await this.executeBatch(
      toInsert.map((args) => ({ operation: 'createObject', collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, args })),
    )
    return { quarantined: toInsert.length, duplicates: entries.length - toInsert.length }
  }

  /** Every quarantined entry, oldest quarantine first (ties by id). */
  async getQuarantinedEntries(): Promise<QuarantinedEntry[]> {
    const stored: StoredQuarantinedEntry[] = (await this.operation('findQuarantined', { where: {}, options: {} })) ?? []
    return stored
      .map(fromStoredQuarantinedEntry)
      .sort((a, b) => a.quarantinedOn - b.quarantinedOn || compareStrings(a.id, b.id))
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
    await this.executeBatch(deleteRowsSteps(CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, ids))
    return { deleted: ids.length }
  }

  private get outgoing(): OutgoingQuarantineContext {
    return {
      findRecords: async (where) => (await this.operation('findOutgoingQuarantined', { where, options: {} })) ?? [],
      findRecordsIn: (field, values) => this.findIn<StoredOutgoingQuarantinedEntry>(field, values, 'findOutgoingQuarantined'),
      findEntriesIn: (field, values) => this.findIn(field, values),
      revive: (stored) => this.revive(stored),
      executeBatch: (batch) => this.executeBatch(batch),
    }
  }

  /**
   * Sets own unshared entries aside that the shared log refused for good (or
   * that wait behind such an entry of the same object): they stay in the log,
   * are no longer returned by `getUnsharedEntries()`, and are listed by
   * `getOutgoingQuarantinedEntries()`. See outgoing-quarantine.ts.
   */
  quarantineOutgoingEntries(items: OutgoingQuarantineInput[], options: { now: number }): Promise<{ quarantined: number }> {
    return quarantineOutgoing(this.outgoing, items, options)
  }

  /** Own entries in the outgoing quarantine, oldest first, each with its reason and the entry itself. */
  getOutgoingQuarantinedEntries(): Promise<OutgoingQuarantinedEntry[]> {
    return listOutgoing(this.outgoing)
  }

  async countOutgoingQuarantinedEntries(): Promise<number> {
    return Number(await this.operation('countOutgoingQuarantined', { where: {} }))
  }

  /**
   * Objects with entries in the outgoing quarantine, each with the createdOn
   * of its first one: later entries of these objects are held too.
   */
  async getOutgoingQuarantinedObjects(): Promise<Map<string, number>> {
    const records: StoredOutgoingQuarantinedEntry[] = (await this.operation('findOutgoingQuarantined', { where: {}, options: {} })) ?? []
    const objects = new Map<string, number>()
    for (const record of records) {
      objects.set(record.objectKey, Math.min(objects.get(record.objectKey) ?? Infinity, Number(record.createdOn)))
    }
    return objects
  }

  /**
   * Puts quarantined own entries back in line to be sent (e.g. after the
   * server raised its limit): those of the objects the given ids belong to,
   * all of an object's quarantined entries together, or every one.
   */
  releaseOutgoingQuarantinedEntries(options: { ids?: string[] } = {}): Promise<{ released: number; objectKeys: string[] }> {
    return releaseOutgoing(this.outgoing, options)
  }

  /**
   * Drops quarantined own entries that a later delete of their object (held
   * behind them, or unsent and passed in `deletes`) made moot, and puts a held
   * delete back in line: deleting a note that was too large to upload
   * resolves it. `doSync` calls it while sending.
   */
  settleOutgoingBehindDeletes(
    deletes: Array<{ objectKey: string; createdOn: number }> = [],
  ): Promise<{ dropped: number; released: number }> {
    return settleBehindDeletes(this.outgoing, deletes)
  }

  /**
   * What discarding quarantined own entries takes (per object, like the
   * release). `discardOutgoingEntries()` of the orchestrator runs the plan
   * with the object deletes in one batch and rebuilds the objects.
   */
  planOutgoingDiscard(options: { ids?: string[] } = {}): Promise<OutgoingDiscardPlan> {
    return planOutgoingDiscard(this.outgoing, options)
  }

  /**
   * Deletes entries that can no longer change what a reconciler decides:
   * shared (or received), integrated entries superseded by later integrated
   * entries of the same object: everything before the object's latest delete
   * (the delete stays as a tombstone), and modifies whose every field a later
   * create or modify overwrites. Objects with entries awaiting integration
   * or not yet shared are left alone, and so is the entry with the greatest createdOn (the clock
   * restarts from it). With `objects`, only their histories are looked at (doSync passes the objects
   * a sync touched, so the log keeps at most fields + 1 entries per live object without a full scan).
   */
  async deleteObsoleteEntries(options: { objects?: Array<{ collection: string; pk: ObjectPk }> } = {}): Promise<{ deleted: number }> {
    const entries = options.objects
      ? this.revive(await this.findIn('objectKey', [...new Set(options.objects.map((object) => getObjectKey(object.collection, object.pk)))]))
      : await this.getEntries()
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
      // Unsent entries (waiting, or in the outgoing quarantine, where a discard
      // may take them back) must not count as superseding shared ones.
      if (history.some((entry) => entry.needsIntegration || entry.sharedOn === null)) {
        continue
      }
      obsolete.push(...findObsoleteEntries(history, (entry) => entry !== newest))
    }

    const ids = entryIdsOf(obsolete)
    try {
      await this.executeBatch(deleteRowsSteps(CLIENT_SYNC_LOG_COLLECTION, ids))
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

/**
 * Who writes: the given id, or the stored one, or (for a device's first write) a provisional id
 * made here; `device` is the identity to store when it is new.
 */
function writingDevice(state: DeviceStateSnapshot, given: DeviceId | undefined): { deviceId: DeviceId; device: DeviceIdentity | null } {
  if (given !== undefined) {
    return { deviceId: given, device: null }
  }
  const device = state.device ?? { deviceId: newProvisionalDeviceId(), registered: false }
  return { deviceId: device.deviceId, device }
}

/** An id made on the device before it reached the shared log; replaced by the registered one at the first sync. */
function newProvisionalDeviceId(): string {
  const random = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
  return `provisional-${random}`
}

function latestOf(entries: Array<Pick<ClientSyncLogEntry, 'createdOn'>>, start: number): number {
  return entries.reduce((latest, entry) => Math.max(latest, entry.createdOn), start)
}

function clockOf(stored: StoredLogEntry): Pick<ClientSyncLogEntry, 'createdOn' | 'deviceId'> {
  return { createdOn: Number(stored.createdOn), deviceId: stored.deviceId as DeviceId }
}
