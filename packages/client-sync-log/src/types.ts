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

/** A change to log, before the clock gives it its createdOn. */
export type PendingLogEntry =
  | { operation: 'create' | 'modify'; collection: string; pk: ObjectPk; value: Record<string, unknown> }
  | { operation: 'delete'; collection: string; pk: ObjectPk }

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

/**
 * Decides what the entries of some objects do to the local database. The
 * default is `reconcileSyncLog` from `@storex-sync/reconciliation`; any
 * function that keeps this contract makes every device end with the same
 * data once all devices have all entries.
 *
 * **Input.** The whole history (every entry in this device's log) of each
 * object to decide, several objects and collections mixed, in any order.
 * Entries already applied to this database have `needsIntegration: false`,
 * the others `true` (see the two modes below).
 *
 * **The verdict.** A reconciler stands for a function V from one object's
 * history to the object's state (absent, or these fields). It must be:
 * - deterministic: V depends only on the set of entries (not their order, the
 *   device, the time, other objects, or anything outside the entries and the
 *   registry); sort with `compareEntries` and group with `getObjectKey`;
 * - per object: the operations for an object depend only on its own history,
 *   whatever other objects share the call (devices batch objects differently);
 * - confined: it returns operations only for the objects in its input, and
 *   throws only for entries it cannot use (the object is then retried later).
 *
 * **Output.** The Storex operations that move each object from the state the
 * database holds to V(whole history). doSync runs them in one `executeBatch`
 * with the "integrated" marks, past the logging middleware (not logged again).
 *
 * **Mode 1, the default** (`reconcileLocalWrites` unset): the device's own
 * writes are applied directly and never pass through the reconciler; the
 * operations are relative to V of the object's `needsIntegration: false`
 * entries (its integrated received entries and its own writes). That is what
 * the database holds only if V agrees with applying a device's newest write
 * directly: for every history h and entry e that sorts after all of h,
 * V(h + e) is V(h) with e applied (a create makes the object with e's fields,
 * a modify sets e's fields of an existing object, a delete removes it); an
 * own write always sorts after everything its device holds. Per-field last
 * writer wins (the default) agrees; a reconciler that does not must use
 * mode 2, or devices drift apart for good. So must one that cannot compute
 * V of the integrated entries exactly, e.g. one that rewrites the history
 * and then diffs with the default: a rewrite that depends on entries not yet
 * integrated describes a state the database does not hold.
 *
 * **Mode 2, `reconcileLocalWrites`** (set `reconciler.reconcileLocalWrites =
 * true`, or doSync's option of that name): for reconcilers that do not agree
 * with direct application (lowest price wins, counters, anything that can
 * refuse or change a local write), and the simple choice for any custom
 * reconciler: it only has to say what each object is, not how to get there. Own entries are marked as needing integration when
 * they are shared, so objects with own writes pass through the reconciler
 * too. Each object whose history holds a create entry is rewritten: every
 * entry is passed with `needsIntegration: true`, and doSync deletes the
 * object in the same batch before the reconciler's operations, so they
 * apply to a database that does not hold the object and must create it as
 * V says (or leave it absent). Every device's database then equals V on the
 * same full history, whatever V is. Objects without a create entry keep
 * mode 1 (own entries passed as `needsIntegration: false`).
 *
 * **Either mode**: `deleteObsoleteEntries` drops entries by the default rules
 * (entries before an object's last delete, modifies whose fields are all
 * overwritten later); with a reconciler whose verdict depends on them, do not
 * call it: V must see the same history on every device.
 */
export type ReconcilerFunction = ((
  entries: ClientSyncLogEntry[],
  options: { storageRegistry: import('@worldbrain/storex').StorageRegistry },
) => import('@worldbrain/storex').OperationBatch | Promise<import('@worldbrain/storex').OperationBatch>) & {
  /**
   * True: the reconciler does not agree with applying local writes directly,
   * and asks doSync to pass objects with own writes through it too (mode 2
   * above). doSync's `reconcileLocalWrites` option overrides it.
   */
  reconcileLocalWrites?: boolean
  /**
   * True: the verdict depends only on the entries `compactHistory` keeps (the
   * default reconciler's rules), so doSync may drop the others from the log
   * and a replica may keep only those. Leave it unset for reconcilers that
   * look at superseded entries.
   */
  compactableHistory?: boolean
}
