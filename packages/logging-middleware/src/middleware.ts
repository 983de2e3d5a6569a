import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import {
  CLIENT_SYNC_LOG_COLLECTION,
  getObjectKey,
  getObjectPk,
  getPkFields,
  getPkWhere,
  withoutPkFields,
  type ClientSyncLogStorage,
  type PendingLogEntry,
  type DeviceId,
  type ObjectPk,
} from '@storex-sync/client-sync-log'
import { SyncLoggingError } from './errors'
import {
  flattenCreate,
  isWriteOperation,
  nestedCreateBatch,
  rebuildNestedCreate,
  type StorageMiddlewareContext,
} from '@storex-sync/storex-glue'

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

type PendingEntry = PendingLogEntry

const IN_CHUNK = 500

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
    // The log's own collections (entries, quarantines, state) never sync as data.
    const logCollections = Object.keys(this.clientSyncLog.getConfig?.().collections ?? { [CLIENT_SYNC_LOG_COLLECTION]: null })
    const ownCollection = logCollections.find((name) => this.includeCollections.has(name))
    if (ownCollection) {
      throw new SyncLoggingError(
        'UNKNOWN_COLLECTION',
        `includeCollections names '${ownCollection}', a collection of the client sync log itself; list only your app's synced collections.`,
      )
    }
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
    const deviceId = this.requireDeviceId('recordExistingObjects', [...this.includeCollections][0] ?? '')
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
    if (deviceId !== undefined && !((typeof deviceId === 'string' && deviceId !== '') || (typeof deviceId === 'number' && Number.isFinite(deviceId)))) {
      throw new SyncLoggingError(
        'DEVICE_ID_MISSING',
        `enable(deviceId) needs a non-empty string or a number, got ${JSON.stringify(deviceId)}. Call enable() without an argument to use the id the client sync log keeps.`,
      )
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
    const [operationName, ...args] = context.operation as [string, ...any[]]
    if (!this.isEnabled || !isWriteOperation(operationName)) {
      return next.process({ operation: context.operation, extraData: context.extraData })
    }
    this.checkRegistry()

    if (operationName === 'executeBatch') {
      const batch = (args[0] ?? []) as OperationBatch
      if (!batch.some((step) => this.includeCollections.has(step.collection))) {
        return next.process({ operation: context.operation, extraData: context.extraData })
      }
      return this.processBatch(batch, next)
    }

    const collection = args[0] as string
    if (!this.includeCollections.has(collection)) {
      return next.process({ operation: context.operation, extraData: context.extraData })
    }
    const deviceId = this.requireDeviceId(operationName, collection)

    if (operationName === 'createObject') {
      const flat = flattenCreate({
        storageRegistry: this.storageRegistry,
        collection,
        object: args[1] ?? {},
        placeholderPrefix: `logging:${++this.placeholderCounter}:`,
        error: (code, message) => new SyncLoggingError(code, message),
      })
      const dataSteps = nestedCreateBatch(flat)
      const pending: PendingEntry[] = []
      for (const step of dataSteps) {
        const entry = this.createEntry(step)
        if (entry) {
          pending.push(entry)
        }
      }
      const result = await this.writeWithLog(dataSteps, pending, deviceId, next)
      return { object: rebuildNestedCreate(flat, result?.info ?? {}) }
    }

    const where = args[1] ?? {}
    const isUpdate = operationName === 'updateObject' || operationName === 'updateObjects'
    const pks = await this.findAffectedPks(collection, where, next)
    const dataSteps = isUpdate ? this.updateSteps(collection, pks, args[2] ?? {}) : this.deleteSteps(collection, pks)
    const pending = pks.map((pk) => this.entryFor(collection, pk, isUpdate ? args[2] ?? {} : null))
    await this.writeWithLog(dataSteps, pending, deviceId, next)
    return undefined
  }

  private async processBatch(batch: OperationBatch, next: Next) {
    const deviceId = this.requireDeviceId('executeBatch', batch.find((step) => this.includeCollections.has(step.collection))!.collection)
    const dataSteps: OperationBatch = []
    const pending: PendingEntry[] = []
    // Whether each object an earlier step of this batch created or deleted exists at this point of the batch,
    // so that every entry logs what the batch really does to the data (no modify after a delete).
    const presence = new BatchPresence()
    for (const step of batch) {
      if (!this.includeCollections.has(step.collection)) {
        dataSteps.push(step)
        continue
      }
      if (step.operation === 'createObject') {
        const entry = this.createEntry(step)!
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
      const exactPk = this.exactPk(step.collection, step.where)
      const known = exactPk.found ? presence.get(step.collection, exactPk.pk) : undefined
      const pks =
        known !== undefined
          ? known
            ? [exactPk.pk]
            : []
          : (await this.findAffectedPks(step.collection, step.where, next)).filter(
              (pk) => presence.get(step.collection, pk) !== false,
            )
      const updates = isUpdate ? (step as { updates: Record<string, unknown> }).updates : null
      dataSteps.push(...(updates ? this.updateSteps(step.collection, pks, updates) : this.deleteSteps(step.collection, pks)))
      pending.push(...pks.map((pk) => this.entryFor(step.collection, pk, updates)))
      if (!updates) {
        for (const pk of pks) {
          presence.set(step.collection, pk, false)
        }
      }
    }
    return this.writeWithLog(dataSteps, pending, deviceId, next)
  }

  private async writeWithLog(dataSteps: OperationBatch, pending: PendingEntry[], deviceId: DeviceId | 'stored', next: Next): Promise<any> {
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

  private createEntry(step: OperationBatch[number]): PendingEntry | null {
    if (!this.includeCollections.has(step.collection)) {
      return null
    }
    const args = ((step as { args?: Record<string, unknown> }).args ?? {}) as Record<string, unknown>
    if (step.replace?.length) {
      throw new SyncLoggingError(
        'UNRESOLVED_PLACEHOLDER',
        `a '${step.collection}' object is created with fields (${step.replace.map((r) => r.path).join(', ')}) that are only known ` +
          `after the batch runs, so its log entry would be incomplete. Give the parent object its pk up front (use the custom-pk middleware).`,
      )
    }
    const pkFields = getPkFields(this.storageRegistry, step.collection)
    const missing = pkFields.filter((field) => args[field] === undefined || args[field] === null)
    if (missing.length) {
      throw new SyncLoggingError(
        'PK_MISSING',
        `a '${step.collection}' object is created without its pk (${missing.join(', ')}), so its changes cannot be logged for sync. ` +
          `Put the custom-pk middleware before the logging middleware (setMiddleware([pkMiddleware, logging])) or give the pk yourself.`,
      )
    }
    return {
      operation: 'create',
      collection: step.collection,
      pk: getObjectPk(this.storageRegistry, step.collection, args),
      value: withoutPkFields(this.storageRegistry, step.collection, args),
    }
  }

  private entryFor(collection: string, pk: ObjectPk, updates: Record<string, unknown> | null): PendingEntry {
    if (updates) {
      return { operation: 'modify', collection, pk, value: withoutPkFields(this.storageRegistry, collection, updates) }
    }
    return { operation: 'delete', collection, pk }
  }

  /** The pk a where selects, when the where is exactly the pk fields with plain values. */
  private exactPk(collection: string, where: Record<string, unknown>): { found: boolean; pk?: ObjectPk } {
    const pkFields = getPkFields(this.storageRegistry, collection)
    const keys = Object.keys(where ?? {})
    const plain = (value: unknown) =>
      value !== undefined && value !== null && (typeof value !== 'object' || value instanceof Date)
    if (keys.length !== pkFields.length || !pkFields.every((field) => keys.includes(field) && plain(where[field]))) {
      return { found: false }
    }
    return { found: true, pk: getObjectPk(this.storageRegistry, collection, where) }
  }

  private async findAffectedPks(collection: string, where: Record<string, unknown>, next: Next): Promise<ObjectPk[]> {
    const objects = ((await next.process({ operation: ['findObjects', collection, where] })) ?? []) as Array<Record<string, unknown>>
    return objects.map((object) => getObjectPk(this.storageRegistry, collection, object))
  }

  private pkWheres(collection: string, pks: ObjectPk[]): Array<Record<string, unknown>> {
    const pkFields = getPkFields(this.storageRegistry, collection)
    if (pkFields.length === 1) {
      const wheres: Array<Record<string, unknown>> = []
      for (let index = 0; index < pks.length; index += IN_CHUNK) {
        const part = pks.slice(index, index + IN_CHUNK)
        wheres.push(part.length === 1 ? { [pkFields[0]!]: part[0] } : { [pkFields[0]!]: { $in: part } })
      }
      return wheres
    }
    return pks.map((pk) => getPkWhere(this.storageRegistry, collection, pk))
  }

  private updateSteps(collection: string, pks: ObjectPk[], updates: Record<string, unknown>): OperationBatch {
    return this.pkWheres(collection, pks).map((where) => ({ operation: 'updateObjects', collection, where, updates }))
  }

  private deleteSteps(collection: string, pks: ObjectPk[]): OperationBatch {
    return this.pkWheres(collection, pks).map((where) => ({ operation: 'deleteObjects', collection, where }))
  }

  private requireDeviceId(operationName: string, collection: string): DeviceId | 'stored' {
    if (this.deviceId === null || this.deviceId === undefined) {
      throw new SyncLoggingError(
        'DEVICE_ID_MISSING',
        `${operationName} on '${collection}' must be logged for sync, but logging is not enabled. Call logging.enable() ` +
          `(the device id is then kept in the client sync log and registered at the first sync), or logging.enable(deviceId) ` +
          `with an id from sharedSyncLog.createDeviceId() (or logging.disable() to write without logging).`,
      )
    }
    return this.deviceId
  }

  private checkRegistry() {
    if (this.checked) {
      return
    }
    const collections = this.storageRegistry.collections ?? {}
    if (!collections[CLIENT_SYNC_LOG_COLLECTION]) {
      throw new SyncLoggingError(
        'CLIENT_SYNC_LOG_NOT_REGISTERED',
        `the '${CLIENT_SYNC_LOG_COLLECTION}' collection is not registered. Call registerModuleMapCollections(storageManager.registry, { clientSyncLog }) ` +
          `before storageManager.finishInitialization().`,
      )
    }
    const unknown = [...this.includeCollections].filter((name) => !collections[name])
    if (unknown.length) {
      throw new SyncLoggingError(
        'UNKNOWN_COLLECTION',
        `includeCollections names collections the storage registry does not have: ${unknown.join(', ')}. ` +
          `Register them before finishInitialization(), or remove them from includeCollections.`,
      )
    }
    this.checked = true
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
