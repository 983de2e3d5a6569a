import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { StorageModule, type StorageModuleConfig, type StorageModuleConstructorArgs } from '@worldbrain/storex-pattern-modules'
import { HybridLogicalClock } from '../clock'
import type { ClientSyncLogEntry, DeviceId } from '../types'
import { checkTimestampCount } from './arguments'
import { chunk, deleteRowsSteps, entryIdsOf, insertEntrySteps } from './batch-steps'
import { ChangeChannel, type SyncChange, type SyncChangeListener } from './change-channel'
import { databaseNameOf, lockPrefixFor, withDatabaseLock } from './database-lock'
import type { DeviceIdentity } from './device-state'
import { DeviceStateWriter } from './device-state-writer'
import { compareEntries, fromStoredEntry } from './entries'
import { clientSyncLogModuleConfig, type LogFindOperation } from './module-config'
import { CLIENT_SYNC_LOG_COLLECTION, type StoredLogEntry, type StoredStateRow } from './schema'
import { installWriteQueue } from './write-queue'

export interface ClientSyncLogStorageOptions extends StorageModuleConstructorArgs {
  /**
   * A name every StorageManager over this same database shares (browser tabs,
   * workers, processes on one SQLite file). It names the cross-tab locks and
   * change notifications. Default: the backend's `dbName` (the IndexedDB
   * backends have one); set it for other backends that several instances open.
   */
  databaseName?: string
}

type Backend = { operation(name: string, ...args: unknown[]): Promise<unknown> }

/**
 * What ClientSyncLogStorage stands on: the storage module over the log's
 * collections and the reads and batches its methods share; the device (its
 * clock and id, with the one writer of its state); and what ties the
 * instances over one database together (locks and change notifications).
 */
export abstract class ClientSyncLogModule extends StorageModule {
  /** This instance's view of the device clock (the stored clock is the reference; see `writeWithLogEntries`). */
  readonly clock = new HybridLogicalClock()
  /** The name of the database for cross-tab locks and notifications, or null when it has none. */
  readonly databaseName: string | null

  protected readonly storageRegistry: StorageRegistry
  /** The real backend, below the write queue. */
  protected readonly backend: Backend
  protected readonly deviceState: DeviceStateWriter
  private readonly lockPrefix: string
  private readonly changes: ChangeChannel

  constructor(args: ClientSyncLogStorageOptions) {
    super(args)
    this.storageRegistry = args.storageManager.registry
    // Taken before the write queue wraps the manager's backend: batches the queue admitted go straight to it.
    this.backend = args.storageManager.backend as unknown as Backend
    this.databaseName = args.databaseName ?? databaseNameOf(this.backend)
    this.lockPrefix = lockPrefixFor(this.databaseName)
    this.changes = new ChangeChannel(this.databaseName !== null ? this.lockPrefix : null)
    this.deviceState = new DeviceStateWriter({
      lockName: `${this.lockPrefix}:clock`,
      writeQueue: installWriteQueue(args.storageManager),
      reader: {
        findState: (ids) => this.findState(ids),
        latestLoggedClockValue: async (bound) => {
          const [latest] = await this.find({ createdOn: { $lte: bound } }, { order: [['createdOn', 'desc']], limit: 1 })
          return latest ? Number(latest.createdOn) : 0
        },
      },
      clock: this.clock,
      backend: this.backend,
    })
  }

  getConfig(): StorageModuleConfig {
    return clientSyncLogModuleConfig()
  }

  /**
   * Calls `listener` for every change to this device's data: writes logged
   * here or in another tab over the same database (`logged`), own entries a
   * sync sent or set aside (`sent`), and received changes a sync applied
   * (`integrated`). Returns a function that unsubscribes.
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

  /** The device's id as stored (made on the device at its first logged write, registered at its first sync), or null. */
  async getDeviceIdentity(): Promise<DeviceIdentity | null> {
    return (await this.deviceState.read(undefined)).device
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
    return this.deviceState.run(options.now, async (state, write) => {
      if (state.device?.registered) {
        return state.device.deviceId
      }
      const provisional = state.device?.deviceId
      const moved =
        provisional === undefined
          ? []
          : (await this.find({ unshared: 1 })).filter((stored) => stored.deviceId === provisional).map((stored) => fromStoredEntry(this.storageRegistry, stored))
      const steps = [
        ...deleteRowsSteps(CLIENT_SYNC_LOG_COLLECTION, entryIdsOf(moved)),
        ...insertEntrySteps(moved.map((entry) => ({ ...entry, deviceId: assigned })), 'Log entry'),
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
    checkTimestampCount(count)
    return this.deviceState.run(wallNow, async (_state, write) => {
      const values = Array.from({ length: count }, () => this.clock.next(wallNow))
      if (count) {
        await write([], { clock: this.clock.current })
      }
      return values
    })
  }

  protected async find(where: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<StoredLogEntry[]> {
    return (await this.operation('findEntries', { where, options })) ?? []
  }

  /** Rows whose `field` is one of `values`, in chunks small enough for every backend. */
  protected async findIn<Row = StoredLogEntry>(field: string, values: string[], operation: LogFindOperation = 'findEntries'): Promise<Row[]> {
    const found: Row[] = []
    for (const part of chunk(values)) {
      found.push(...(((await this.operation(operation, { where: { [field]: { $in: part } }, options: {} })) ?? []) as Row[]))
    }
    return found
  }

  /** Which of these ids the collection that `operation` reads holds already. */
  protected async existingIds(ids: string[], operation: LogFindOperation = 'findEntries'): Promise<Set<string>> {
    return new Set((await this.findIn<{ id: string }>('id', ids, operation)).map((row) => row.id))
  }

  protected async findState(ids: string[]): Promise<StoredStateRow[]> {
    return ((await this.operation('findState', { where: { id: { $in: ids } } })) ?? []) as StoredStateRow[]
  }

  /** Runs a batch of the log's own steps through the storage manager's write queue. */
  protected async executeBatch(batch: OperationBatch): Promise<void> {
    if (batch.length) {
      await this.operation('executeLogBatch', { batch })
    }
  }

  protected revive(stored: StoredLogEntry[]): ClientSyncLogEntry[] {
    return stored.map((entry) => fromStoredEntry(this.storageRegistry, entry)).sort(compareEntries)
  }
}
