export type DeviceId = number | string

/** The primary key of a synced object: a string id from custom-pk, or whatever the app uses. */
export type ObjectPk = unknown

interface ClientSyncLogEntryBase {
  /**
   * Hybrid logical clock of the writing device: wall-clock milliseconds x 1000
   * plus a logical counter. Strictly increasing per device, and past every
   * entry the device had received when it wrote this one.
   */
  createdOn: number
  /** When this entry was sent (own entries) or received (others'); `null` until sent. */
  sharedOn: number | null
  deviceId: DeviceId
  /** True for received entries that the reconciler has not yet applied. */
  needsIntegration: boolean
  collection: string
  pk: ObjectPk
}

export interface ClientSyncLogCreationEntry extends ClientSyncLogEntryBase {
  operation: 'create'
  /** The created object without its pk. */
  value: Record<string, unknown>
}

export interface ClientSyncLogModificationEntry extends ClientSyncLogEntryBase {
  operation: 'modify'
  /** The changed fields and their new values. */
  value: Record<string, unknown>
}

export interface ClientSyncLogDeletionEntry extends ClientSyncLogEntryBase {
  operation: 'delete'
}

export type ClientSyncLogEntry = ClientSyncLogCreationEntry | ClientSyncLogModificationEntry | ClientSyncLogDeletionEntry

export type ClientSyncLogOperation = ClientSyncLogEntry['operation']

/**
 * Decides what received entries do to the local database. It gets the whole
 * history (integrated and not) of every object it must decide on, grouped or
 * not, and returns the operations that bring those objects up to date. It
 * must be deterministic: every device computes the same outcome.
 *
 * The default is `reconcileSyncLog` from `@storex-sync/reconciliation`.
 */
export type ReconcilerFunction = (
  entries: ClientSyncLogEntry[],
  options: { storageRegistry: import('@worldbrain/storex').StorageRegistry },
) => import('@worldbrain/storex').OperationBatch | Promise<import('@worldbrain/storex').OperationBatch>
