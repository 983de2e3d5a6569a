import type { StorageRegistry } from '@worldbrain/storex'
import type {
  ClientSyncLogEntry,
  ClientSyncLogStorage,
  DeviceId,
  OutgoingQuarantineReason,
  QuarantineReason,
  ReconcilerFunction,
} from '@storex-sync/client-sync-log'
import type {
  Now,
  SharedSyncLog,
  SharedSyncLogEntry,
  SharedSyncLogEntryData,
  UserId,
} from '@storex-sync/shared-sync-log-core'

/** Turns entry data into the string the shared log stores, and back. Default: JSON. */
export interface SyncSerializer {
  serializeSharedSyncLogEntryData(data: SharedSyncLogEntryData): string | Promise<string>
  deserializeSharedSyncLogEntryData(serialized: string): SharedSyncLogEntryData | Promise<SharedSyncLogEntryData>
}

/** Sees each own entry before it is sent; return `{ entry: null }` to keep it from being sent. */
export type SyncPreSendProcessor = (params: {
  entry: ClientSyncLogEntry
}) => Promise<{ entry: ClientSyncLogEntry | null }> | { entry: ClientSyncLogEntry | null }

/** Sees each received entry before it is stored; return `{ entry: null }` to ignore it. */
export type SyncPostReceiveProcessor = (params: {
  entry: SharedSyncLogEntry<SharedSyncLogEntryData>
}) =>
  | Promise<{ entry: SharedSyncLogEntry<SharedSyncLogEntryData> | null }>
  | { entry: SharedSyncLogEntry<SharedSyncLogEntryData> | null }

export type SyncStage = 'receive' | 'share' | 'integrate'

/** The events doSync emits, with their payloads. */
export interface SyncEventMap {
  syncStarted: { deviceId: DeviceId; stages: SyncStage[] }
  stageStarted: { stage: SyncStage }
  /** One page read from the shared log and stored locally. */
  receivedEntries: { entries: number; stored: number; duplicates: number; filtered: number; quarantined: number }
  /** Received entries that could not be used were stored aside (see ClientSyncLogStorage.getQuarantinedEntries). */
  entriesQuarantined: { entries: QuarantinedEntrySummary[] }
  /** The reconciler (or the write) failed for one object; it stays pending and is retried on the next sync. */
  objectIntegrationFailed: IntegrationFailure
  /** One page of own entries handled: `entries` written to the shared log (in one or more writes), `quarantined` set aside. */
  sentEntries: { entries: number; filtered: number; quarantined: number }
  /** Own entries the shared log refused for good (or held behind them) were set aside; see ClientSyncLogStorage.getOutgoingQuarantinedEntries. */
  outgoingEntriesQuarantined: { entries: OutgoingQuarantinedSummary[] }
  /** Quarantined own entries made moot by a later delete of their object were dropped, and the delete released to be sent. */
  outgoingEntriesSettled: { dropped: number; released: number }
  /** One batch of objects reconciled and written, with the entries it consumed. */
  integratedEntries: { objects: number; entries: number; operations: number }
  /** The device starts from the replica's snapshot: 'fresh' (empty log) or 'merge' (back after being retired). */
  bootstrapStarted: { mode: 'fresh' | 'merge' }
  bootstrapFinished: { mode: 'fresh' | 'merge'; objects: number; entries: number; bytes: number }
  /**
   * How much of a long step is done and how much is left: a bootstrap (objects,
   * entries and bytes of the whole snapshot) or receiving (entries; the total
   * is known when the shared log tells how many remain).
   */
  progress: SyncProgress
  stageFinished: { stage: SyncStage; result: SyncResult }
  syncFinished: { result: SyncResult }
  syncFailed: { stage: SyncStage; error: unknown }
}

export type SyncEventName = keyof SyncEventMap

/** Anything with `emit(name, payload)`: Node's EventEmitter, eventemitter3, mitt, ... */
export interface SyncEventEmitter {
  emit(event: string, payload: any): unknown
}

export interface CommonSyncOptions {
  clientSyncLog: ClientSyncLogStorage
  sharedSyncLog: SharedSyncLog
  userId: UserId
  deviceId: DeviceId
  /** Wall-clock time of this sync (ms) or '$now' (the default). Stamps sharedOn. */
  now?: Now
  /** Entries per page, in both directions. Default 1000. */
  batchSize?: number
  serializer?: SyncSerializer
  preSend?: SyncPreSendProcessor
  postReceive?: SyncPostReceiveProcessor
  /** Sent along with every batch of entries; other devices see it on the entries. */
  extraSentInfo?: unknown
  events?: SyncEventEmitter
  /**
   * How far ahead of this device's wall clock a received entry's createdOn may
   * lie (ms) before it is quarantined (and retried by later syncs).
   * Default DEFAULT_MAX_CLOCK_DRIFT_MS from @storex-sync/client-sync-log (24 hours).
   */
  maxClockDriftMs?: number
  /**
   * Pass objects with this device's own writes through the reconciler too
   * (own entries are marked as needing integration when shared, and each
   * object with a create entry is rewritten as the reconciler's verdict on
   * its whole history). Needed by reconcilers that do not agree with applying
   * local writes directly; see ReconcilerFunction in @storex-sync/client-sync-log.
   * Default: the reconciler's `reconcileLocalWrites` flag, else false.
   */
  reconcileLocalWrites?: boolean
}

export interface SyncOptions extends Omit<CommonSyncOptions, 'deviceId'> {
  /**
   * Which device of the user syncs. Default: the id the client sync log keeps
   * (logging.enable() without an argument): made on the device at its first
   * write and registered with the shared log (createDeviceId) by this sync
   * the first time, with its entries moved to the registered id.
   */
  deviceId?: DeviceId
  storageManager: { registry: StorageRegistry; backend: { operation(name: string, ...args: any[]): Promise<any> } }
  reconciler: ReconcilerFunction
  /** Objects reconciled per database batch. Default 500. */
  integrationBatchSize?: number
  /**
   * How a device with an empty log starts when the shared log serves
   * snapshots (a server with a replica, or withReplica()): 'snapshot' (the
   * default) stores the current objects page by page; 'replay' reads the whole
   * log. A device behind a compacted log always bootstraps from a snapshot.
   */
  bootstrap?: 'snapshot' | 'replay'
  /** Objects per snapshot page. Default 1000. */
  snapshotPageSize?: number
  /**
   * Drop the log entries of the objects this sync touched that can no longer
   * change the reconciler's verdict (`deleteObsoleteEntries`), so the log
   * keeps at most fields + 1 entries per live object. Default: the
   * reconciler's `compactableHistory` flag (set on the default reconciler);
   * leave it off for reconcilers whose verdict depends on superseded entries.
   */
  compactLog?: boolean
  /** Which stages run; all by default. */
  stages?: Partial<Record<SyncStage, boolean>>
}

export interface SyncProgressCount {
  done: number
  /** null while unknown. */
  total: number | null
}

export interface SyncProgress {
  phase: 'bootstrap' | 'receive'
  entries: SyncProgressCount
  /** bootstrap only: objects of the snapshot. */
  objects?: SyncProgressCount
  /** bootstrap only: bytes of entry data (UTF-8). */
  bytes?: SyncProgressCount
}

/** A received entry that was quarantined instead of stored. */
export interface QuarantinedEntrySummary {
  /** Its id in the quarantine (ClientSyncLogStorage.getQuarantinedEntries / clearQuarantinedEntries). */
  id: string
  deviceId: DeviceId
  createdOn: number
  reason: QuarantineReason
  message: string
}

/** An own entry set aside in the outgoing quarantine instead of sent. */
export interface OutgoingQuarantinedSummary {
  deviceId: DeviceId
  createdOn: number
  collection: string
  pk: unknown
  operation: ClientSyncLogEntry['operation']
  reason: OutgoingQuarantineReason
  message: string
}

/** An object whose integration failed in this sync; its entries stay pending. */
export interface IntegrationFailure {
  collection: string
  pk: unknown
  objectKey: string
  message: string
  /** What was thrown: a SyncOrchestratorError RECONCILIATION_FAILED (cause: the reconciler's error) or the database error. */
  error: unknown
}

export interface SyncResult {
  received: { entries: number; stored: number; duplicates: number; filtered: number; quarantined: number; pages: number }
  /** `batches`: writes the log accepted; `quarantined`: own entries set aside in this sync (see outgoingQuarantined). */
  sent: { entries: number; filtered: number; batches: number; quarantined: number }
  /** `failed`: objects that stay pending because their integration failed (see integrationFailures). */
  integrated: { objects: number; entries: number; operations: number; batches: number; failed: number }
  /** A start from the replica's snapshot in this sync: its mode (null: none), objects and entries stored. */
  bootstrap: { mode: 'fresh' | 'merge' | null; objects: number; entries: number }
  /** Log entries dropped as obsolete at the end of the sync (see the compactLog option). */
  compacted: { entries: number }
  /** Received entries set aside in this sync, with their reasons. */
  quarantined: QuarantinedEntrySummary[]
  /** Own entries set aside in this sync: refused for good by the shared log, or held behind such an entry. */
  outgoingQuarantined: OutgoingQuarantinedSummary[]
  /** Objects whose integration failed in this sync. */
  integrationFailures: IntegrationFailure[]
  durationMs: number
}
