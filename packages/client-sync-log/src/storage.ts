import type { OperationBatch } from '@worldbrain/storex'
import { latestClockValue } from './clock'
import { ClientSyncLogError } from './errors'
import { objectSyncStates, type ObjectSyncState } from './object-states'
import { UNSHARED_QUARANTINED } from './outgoing-quarantine'
import { getObjectKey } from './pk'
import type { ClientSyncLogEntry, DeviceId, ObjectHistory, ObjectPk, PendingLogEntry, ReceivedClientSyncLogEntry } from './types'
import { checkPositiveInteger } from './internal/arguments'
import { baselineDoneStep, baselineEntries, baselineRowId, objectKeysOf } from './internal/baseline'
import { deleteRowsSteps, entryIdsOf, insertCheckedEntrySteps, insertEntrySteps, updateRowsSteps } from './internal/batch-steps'
import { explainDeleteFailure, obsoleteLogEntries } from './internal/compaction'
import { writingDevice } from './internal/device-state'
import { objectHistories, oldestPendingObjects, PENDING_ENTRIES_PER_OBJECT } from './internal/integration'
import { ClientSyncLogQuarantines } from './internal/quarantines'
import { receivedEntriesById } from './internal/received-entries'
import { CLIENT_SYNC_LOG_COLLECTION, DEFERRED_INTEGRATION, NEEDS_INTEGRATION } from './internal/schema'

/**
 * The device-side sync log: every change to a synced collection, own or
 * received, as a storex-pattern-modules module with one collection,
 * `clientSyncLogEntry`. Register it with
 * `registerModuleMapCollections(storageManager.registry, { clientSyncLog })`
 * before `finishInitialization()`.
 */
export class ClientSyncLogStorage extends ClientSyncLogQuarantines {
  private readonly syncedCollections = new Set<string>()

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
    const done = new Set((await this.findState(collections.map(baselineRowId))).map((row) => row.id))
    let recorded = 0
    for (const collection of collections) {
      if (done.has(baselineRowId(collection))) {
        continue
      }
      const objects = ((await this.backend.operation('findObjects', collection, {})) ?? []) as Array<Record<string, unknown>>
      recorded += await this.recordBaselineObjects(collection, objects, { ...options, markDone: true })
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
    return this.deviceState.run(options.now, async (state, write) => {
      if (options.markDone && (await this.findState([baselineRowId(collection)])).length) {
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
      const steps = [...this.getInsertEntriesBatch(entries), ...(options.markDone ? [baselineDoneStep(collection, options.now ?? Date.now())] : [])]
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
    return this.deviceState.run(options.now, async (state, write) => {
      const { deviceId, device } = writingDevice(state, options.deviceId)
      const entries = options.entries.map(
        (entry) => ({ ...entry, createdOn: this.clock.next(options.now), deviceId, sharedOn: null, needsIntegration: false }) as ClientSyncLogEntry,
      )
      const batch = [...options.dataSteps, ...this.getInsertEntriesBatch(entries)]
      const result = (await write(batch, { clock: this.clock.current, ...(device ? { device } : {}) }, options.execute)) as R
      return { entries, result }
    })
  }

  /** createObject steps for these entries, to run in the same executeBatch as the data they describe. */
  getInsertEntriesBatch(entries: ClientSyncLogEntry[]): OperationBatch {
    return insertEntrySteps(entries, 'Log entry')
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
    await this.deviceState.run(undefined, async (state, write) => {
      const [existing] = await this.findIn('id', ids)
      if (existing) {
        throw new ClientSyncLogError(
          'DUPLICATE_ENTRY',
          `the log already holds an entry of device ${JSON.stringify(existing.deviceId)} at createdOn ${existing.createdOn}; ` +
            'a log entry is never overwritten. Nothing was stored; take clock values from nextTimestamps().',
        )
      }
      await write(steps, { clock: latestClockValue(entries, state.clock) })
    })
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
    const byId = receivedEntriesById(entries, { now: options.now, needsIntegration: true, label: 'Received entry' })
    const inserted = await this.storeNewEntries(byId, [], options.now)
    return { inserted, duplicates: entries.length - inserted }
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
    const byId = receivedEntriesById(entries, { now: options.now, needsIntegration: false, label: 'Snapshot entry' })
    return { inserted: await this.storeNewEntries(byId, operations, options.now) }
  }

  /**
   * Stores the checked entries of `byId` that the log does not hold yet, after
   * `operations`, in one batch that moves the stored clock past them; the
   * clock observes every one. Returns how many it stored.
   */
  private async storeNewEntries(byId: Map<string, ClientSyncLogEntry>, operations: OperationBatch, now: number): Promise<number> {
    const inserted = await this.deviceState.run(now, async (state, write) => {
      const existing = await this.existingIds([...byId.keys()])
      const toInsert = [...byId].filter(([id]) => !existing.has(id))
      if (toInsert.length || operations.length) {
        const clock = latestClockValue(toInsert.map(([, entry]) => entry), state.clock)
        await write([...operations, ...insertCheckedEntrySteps(toInsert)], { clock })
      }
      return toInsert.length
    })
    for (const entry of byId.values()) {
      this.clock.observe(entry.createdOn)
    }
    return inserted
  }

  /**
   * Objects with entries that need integration, the one with the oldest such
   * entry first, each with its whole history. At most `maxObjects` (may be
   * fewer while more remain; call again until it returns an empty list).
   */
  async getNextObjectsToIntegrate(options: { maxObjects?: number } = {}): Promise<ObjectHistory[]> {
    checkPositiveInteger('maxObjects', options.maxObjects)
    const pending = await this.find(
      { needsIntegration: NEEDS_INTEGRATION },
      { order: [['createdOn', 'asc']], ...(options.maxObjects ? { limit: options.maxObjects * PENDING_ENTRIES_PER_OBJECT } : {}) },
    )
    const objectKeys = oldestPendingObjects(pending, options.maxObjects)
    if (!objectKeys.length) {
      return []
    }
    return objectHistories(this.storageRegistry, objectKeys, await this.findIn('objectKey', objectKeys))
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
    const ids = entryIdsOf(entries)
    await this.executeBatch(
      updateRowsSteps(CLIENT_SYNC_LOG_COLLECTION, ids, { needsIntegration: DEFERRED_INTEGRATION }, { needsIntegration: NEEDS_INTEGRATION }),
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
    const ids = entryIdsOf(obsoleteLogEntries(entries))
    try {
      await this.executeBatch(deleteRowsSteps(CLIENT_SYNC_LOG_COLLECTION, ids))
    } catch (error) {
      throw explainDeleteFailure(error)
    }
    return { deleted: ids.length }
  }
}
