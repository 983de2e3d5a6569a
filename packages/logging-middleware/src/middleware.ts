import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { getObjectKey, type ClientSyncLogStorage, type PendingLogEntry, type DeviceId, type ObjectPk } from '@storex-sync/client-sync-log'
import { SyncLoggingError } from './errors'
import {
  flattenCreate,
  isWriteOperation,
  nestedCreateBatch,
  rebuildNestedCreate,
  type StorageMiddlewareContext,
} from '@storex-sync/storex-glue'
import { checkDeviceIdArgument, checkNotLogCollections, checkRegistry, requireDeviceId } from './internal/checks'
import { changeEntry, creationEntry } from './internal/entries'
import { changeSteps, exactPk, findAffectedPks } from './internal/pk-steps'

/** What every app passes in; `storageManager` is the StorageManager this middleware is set on. */
export interface SyncLoggingMiddlewareOptions {
  storageManager: { registry: StorageRegistry }
  clientSyncLog: ClientSyncLogStorage
  /** Collections whose writes are logged (and therefore synced). */
  includeCollections: string[]
  /** Wall clock in ms; defaults to Date.now. Also assignable later as `_getNow`. */
  getNow?: () => number
  /** The id of this device in the shared log; same as calling enable(deviceId). */
  deviceId?: DeviceId
  /** A first listener for `onEntriesLogged` (e.g. to schedule a sync). */
  onEntriesLogged?: EntriesLoggedListener
}

/** Hears of every write this middleware logged, after the write and its entries are stored. */
export type EntriesLoggedListener = (info: { entries: number; collections: string[] }) => void

export type { StorageMiddlewareContext }

type Next = StorageMiddlewareContext['next']

/**
 * Storex middleware that turns every write to an included collection into
 * client sync log entries (one per affected object), written in the same
 * executeBatch as the data. Put it after the custom-pk middleware:
 * `storageManager.setMiddleware([pkMiddleware, logging])`.
 */
export class SyncLoggingMiddleware {
  /** The wall clock (ms) used for createdOn; assignable, e.g. in tests. */
  _getNow: () => number
  private readonly entriesLoggedListeners = new Set<EntriesLoggedListener>()
  /** Collections whose existing objects are recorded in the log (or being recorded). */
  private readonly baselines = new Map<string, Promise<unknown>>()
  private readonly storageRegistry: StorageRegistry
  private readonly clientSyncLog: ClientSyncLogStorage
  private readonly includeCollections: Set<string>
  /** The device id given to enable(), 'stored' after enable() without one, null before enable(). */
  private deviceId: DeviceId | 'stored' | null
  private isEnabled = true
  private checked = false
  private placeholderCounter = 0

  constructor(options: SyncLoggingMiddlewareOptions) {
    this.storageRegistry = options.storageManager.registry
    this.clientSyncLog = options.clientSyncLog
    this.includeCollections = new Set(options.includeCollections)
    this._getNow = options.getNow ?? (() => Date.now())
    this.deviceId = options.deviceId ?? null
    this.clientSyncLog.declareSyncedCollections?.(options.includeCollections)
    if (options.onEntriesLogged) {
      this.entriesLoggedListeners.add(options.onEntriesLogged)
    }
    checkNotLogCollections(this.includeCollections, this.clientSyncLog)
  }

  /**
   * Calls `listener` after every logged write is stored (e.g. to schedule a
   * sync). Any number of listeners; returns a function that removes this one.
   * Writes in other tabs reach `clientSyncLog.onChange` listeners instead.
   */
  onEntriesLogged(listener: EntriesLoggedListener): () => void {
    this.entriesLoggedListeners.add(listener)
    return () => {
      this.entriesLoggedListeners.delete(listener)
    }
  }

  /**
   * Records the objects that exist in the included collections without a log
   * entry (written before sync was enabled, or in a collection added to
   * includeCollections later) as create entries, so they reach the other
   * devices. Once per collection and database; the middleware does it by
   * itself before its first logged write to a collection, so call this at
   * start-up only to share existing objects before any write.
   */
  async recordExistingObjects(): Promise<void> {
    this.checkRegistry()
    const deviceId = requireDeviceId(this.deviceId, 'recordExistingObjects', [...this.includeCollections][0] ?? '')
    await Promise.all([...this.includeCollections].map((collection) => this.baselineOf(collection, deviceId)))
  }

  private baselineOf(collection: string, deviceId: DeviceId | 'stored'): Promise<unknown> {
    let baseline = this.baselines.get(collection)
    if (!baseline) {
      baseline = this.clientSyncLog
        .recordExistingObjects({ collections: [collection], now: this._getNow(), ...(deviceId === 'stored' ? {} : { deviceId }) })
        .catch((error) => {
          this.baselines.delete(collection)
          throw error
        })
      this.baselines.set(collection, baseline)
    }
    return baseline
  }

  /** True unless disable() was called. */
  get enabled(): boolean {
    return this.isEnabled
  }

  /**
   * Logs writes from now on. Without an argument, as the device whose id the
   * client sync log keeps: made on the device at its first write (so a new
   * device works offline from its first start) and registered with the shared
   * log by its first sync (doSync without `deviceId`). With `deviceId`, as
   * that device (an id from sharedSyncLog.createDeviceId() you keep yourself).
   */
  enable(deviceId?: DeviceId): void {
    if (deviceId !== undefined) {
      checkDeviceIdArgument(deviceId)
    }
    this.deviceId = deviceId ?? 'stored'
    this.isEnabled = true
  }

  /** Lets every operation pass through unlogged (e.g. while integrating received changes). */
  disable(): void {
    this.isEnabled = false
  }

  async process(context: StorageMiddlewareContext): Promise<any> {
    const { next } = context
    const passThrough = () => next.process({ operation: context.operation, extraData: context.extraData })
    const [operationName, ...args] = context.operation as [string, ...any[]]
    if (!this.isEnabled || !isWriteOperation(operationName)) {
      return passThrough()
    }
    this.checkRegistry()

    if (operationName === 'executeBatch') {
      const batch = (args[0] ?? []) as OperationBatch
      const logged = batch.find((step) => this.includeCollections.has(step.collection))
      return logged ? this.processBatch(batch, requireDeviceId(this.deviceId, 'executeBatch', logged.collection), next) : passThrough()
    }

    const collection = args[0] as string
    if (!this.includeCollections.has(collection)) {
      return passThrough()
    }
    const deviceId = requireDeviceId(this.deviceId, operationName, collection)

    if (operationName === 'createObject') {
      const flat = flattenCreate({
        storageRegistry: this.storageRegistry,
        collection,
        object: args[1] ?? {},
        placeholderPrefix: `logging:${++this.placeholderCounter}:`,
        error: (code, message) => new SyncLoggingError(code, message),
      })
      const dataSteps = nestedCreateBatch(flat)
      const pending = dataSteps
        .filter((step) => this.includeCollections.has(step.collection))
        .map((step) => creationEntry(this.storageRegistry, step))
      const result = await this.writeWithLog(dataSteps, pending, deviceId, next)
      return { object: rebuildNestedCreate(flat, result?.info ?? {}) }
    }

    const where = args[1] ?? {}
    const isUpdate = operationName === 'updateObject' || operationName === 'updateObjects'
    const updates: Record<string, unknown> | null = isUpdate ? args[2] ?? {} : null
    const pks = await findAffectedPks(this.storageRegistry, collection, where, next)
    const dataSteps = changeSteps(this.storageRegistry, collection, pks, updates)
    const pending = pks.map((pk) => changeEntry(this.storageRegistry, collection, pk, updates))
    await this.writeWithLog(dataSteps, pending, deviceId, next)
    return undefined
  }

  private async processBatch(batch: OperationBatch, deviceId: DeviceId | 'stored', next: Next) {
    const dataSteps: OperationBatch = []
    const pending: PendingLogEntry[] = []
    // Whether each object an earlier step of this batch created or deleted exists at this point of the batch,
    // so that every entry logs what the batch really does to the data (no modify after a delete).
    const presence = new BatchPresence()
    for (const step of batch) {
      if (!this.includeCollections.has(step.collection)) {
        dataSteps.push(step)
        continue
      }
      if (step.operation === 'createObject') {
        const entry = creationEntry(this.storageRegistry, step)
        presence.set(step.collection, entry.pk, true)
        pending.push(entry)
        dataSteps.push(step)
        continue
      }
      const isUpdate = step.operation === 'updateObjects'
      if (!isUpdate && step.operation !== 'deleteObjects') {
        dataSteps.push(step)
        continue
      }
      // An object an earlier step of this batch created or deleted is not (or still) in the database:
      // decide by what the batch did to it. Other objects are found in the database as stored before the batch.
      const exact = exactPk(this.storageRegistry, step.collection, step.where)
      const known = exact ? presence.get(step.collection, exact.pk) : undefined
      const pks =
        exact && known !== undefined
          ? known
            ? [exact.pk]
            : []
          : (await findAffectedPks(this.storageRegistry, step.collection, step.where, next)).filter(
              (pk) => presence.get(step.collection, pk) !== false,
            )
      const updates = isUpdate ? (step as { updates: Record<string, unknown> }).updates : null
      dataSteps.push(...changeSteps(this.storageRegistry, step.collection, pks, updates))
      pending.push(...pks.map((pk) => changeEntry(this.storageRegistry, step.collection, pk, updates)))
      if (!updates) {
        for (const pk of pks) {
          presence.set(step.collection, pk, false)
        }
      }
    }
    return this.writeWithLog(dataSteps, pending, deviceId, next)
  }

  private async writeWithLog(dataSteps: OperationBatch, pending: PendingLogEntry[], deviceId: DeviceId | 'stored', next: Next): Promise<any> {
    if (!pending.length && !dataSteps.length) {
      return { info: {} }
    }
    await Promise.all([...new Set(pending.map((entry) => entry.collection))].map((collection) => this.baselineOf(collection, deviceId)))
    // The log's clock is read and written with the batch, through the storage manager's write queue.
    const { result, entries } = await this.clientSyncLog.writeWithLogEntries({
      ...(deviceId === 'stored' ? {} : { deviceId }),
      now: this._getNow(),
      entries: pending,
      dataSteps,
      execute: (batch) => next.process({ operation: ['executeBatch', batch] }),
    })
    if (entries.length) {
      const collections = [...new Set(entries.map((entry) => entry.collection))]
      for (const listener of [...this.entriesLoggedListeners]) {
        try {
          listener({ entries: entries.length, collections })
        } catch {
          // The write is stored; a failing listener must not make it look failed.
        }
      }
      this.clientSyncLog.notifyChange({ kind: 'logged', entries: entries.length, collections })
    }
    return result
  }

  private checkRegistry() {
    if (!this.checked) {
      checkRegistry(this.storageRegistry, this.includeCollections)
      this.checked = true
    }
  }
}

/** Which objects exist after the steps of a batch seen so far, for the objects those steps created or deleted. */
class BatchPresence {
  private readonly exists = new Map<string, boolean>()

  set(collection: string, pk: ObjectPk, exists: boolean): void {
    this.exists.set(getObjectKey(collection, pk), exists)
  }

  /** true or false for an object an earlier step created or deleted; undefined for one the batch has not touched so. */
  get(collection: string, pk: ObjectPk): boolean | undefined {
    return this.exists.get(getObjectKey(collection, pk))
  }
}
