import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { StorageModule, type StorageModuleConfig, type StorageModuleConstructorArgs } from '@worldbrain/storex-pattern-modules'
import { DEFAULT_MAX_CLOCK_DRIFT_MS, getObjectKey, type ClientSyncLogEntry, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import { foldObjectHistory } from '@storex-sync/reconciliation'
import {
  SharedSyncLogError,
  utf8Length,
  type Now,
  type SharedSyncLog,
  type SharedSyncLogCompactionResult,
  type SharedSyncLogSnapshotPage,
  type SharedSyncLogUpdate,
  type DeviceId,
  type UserId,
} from '@storex-sync/shared-sync-log-core'
import { validateUserId } from '@storex-sync/shared-sync-log-core/implement'
import { ReplicaError } from './errors'
import { decodeReplicaEntry, jsonReplicaSerializer, replicaEntryKey, type ReplicaSerializer } from './internal/decode'
import { mergeHistory, verdictOf } from './internal/history'
import { findRows, withoutKnownProblems } from './internal/rows'
import { decodeCursor, encodeCursor, pageLimit } from './internal/cursor'
import {
  REPLICA_OBJECT_COLLECTION,
  REPLICA_QUARANTINE_COLLECTION,
  REPLICA_USER_COLLECTION,
  replicaModuleConfig,
  type ReplicaObjectRecord,
  type ReplicaQuarantineRecord,
  type ReplicaUserRecord,
  type StoredReplicaEntry,
} from './internal/schema'
import { KeyedMutex } from '@storex-sync/storex-glue'

export interface SyncReplicaOptions extends StorageModuleConstructorArgs {
  /** The log to integrate; the replica registers a device of its own for each user. */
  sharedSyncLog: SharedSyncLog
  /** The devices' serializer (default: JSON, as doSync's default). */
  serializer?: ReplicaSerializer
  /** Entries read from the log per page while catching up (default 1000). */
  batchSize?: number
  /**
   * Keep only the entries that can still change the default reconciler's
   * verdict (see `compactHistory` of @storex-sync/client-sync-log): at most
   * fields + 1 per live object, one per deleted object. Default true; turn it
   * off for custom reconcilers whose verdict depends on superseded entries.
   */
  compactHistories?: boolean
  /**
   * The app's reconciler, when it is not the default one: each object is
   * then what it decides on the object's whole history (needs
   * `storageRegistry`), and histories are compacted only when it carries
   * `compactableHistory`. Default: the default reconciler's rules, without
   * needing the schema.
   */
  reconciler?: ReconcilerFunction
  /**
   * The app's schema (its newest version). With it, entries are checked as
   * devices check them (unknown collections and fields, pk types) and kept
   * aside when they fail, so the replica never holds what devices refuse;
   * entries kept aside for an unknown collection or field are retried at
   * every catch-up (after the server is given a newer schema). Without it,
   * the replica checks shapes and clocks only.
   */
  storageRegistry?: StorageRegistry
  /** The server's wall clock (ms). Default Date.now. */
  now?: () => number
  /**
   * How far ahead of `now` an entry's createdOn may lie before it is kept
   * aside (CLOCK_OUT_OF_RANGE) and retried at every catch-up, as devices do.
   * Default DEFAULT_MAX_CLOCK_DRIFT_MS of @storex-sync/client-sync-log (24 hours).
   */
  maxClockDriftMs?: number
}

export interface ReplicaCatchUpResult {
  /** Entries read from the log. */
  entries: number
  /** Objects whose history changed. */
  objects: number
  /** Entries that could not be decoded, kept aside in the replica's quarantine. */
  quarantined: number
}

export interface ReplicaObject {
  collection: string
  pk: unknown
  /** The object's fields without its pk, as the default reconciler makes them of its history. */
  object: Record<string, unknown>
}

export interface ReplicaStats {
  /** Objects the replica holds a history for (live and deleted). */
  objects: number
  liveObjects: number
  /** Entries kept in those histories, and their data's UTF-8 bytes. */
  entries: number
  bytes: number
}

const DEFAULT_BATCH_SIZE = 1000
/** As on devices: reasons that time (a clock catching up) or an app update can lift. */
const RETRIED_REASONS = new Set(['CLOCK_OUT_OF_RANGE', 'UNKNOWN_COLLECTION', 'UNKNOWN_FIELD'])

/**
 * The cloud as a device: a per-user replica of the data that integrates the
 * shared log with the default reconciler's rules, so it equals what the
 * devices converge to. It serves snapshots to new devices
 * (`getSnapshotPage`), lets the log be compacted below what it has
 * integrated (`compact`), and answers read-only, paged queries of a user's
 * data (`getObjects`). It knows no app schema: it keeps each object's
 * compacted history and the fields the reconciler makes of it, in three
 * collections of its own on any Storex backend.
 */
export class SyncReplica extends StorageModule {
  private readonly sharedSyncLog: SharedSyncLog
  private readonly serializer: ReplicaSerializer
  private readonly batchSize: number
  private readonly compactHistories: boolean
  private readonly lock = new KeyedMutex()
  private readonly now: () => number
  private readonly maxClockDriftMs: number
  private readonly storageRegistry: StorageRegistry | undefined
  private readonly verdict: (history: ClientSyncLogEntry[]) => Promise<Record<string, unknown> | null>

  constructor(options: SyncReplicaOptions) {
    super(options)
    const log = options.sharedSyncLog as unknown as Record<string, unknown> | undefined
    const missing = ['createDeviceId', 'getUnsyncedEntries', 'markAsSeen'].filter((method) => typeof log?.[method] !== 'function')
    if (missing.length) {
      throw new ReplicaError('INVALID_OPTION', `SyncReplica needs a sharedSyncLog (missing ${missing.join(', ')}); pass the log the server stores.`)
    }
    if (options.batchSize !== undefined && (!Number.isInteger(options.batchSize) || options.batchSize < 1)) {
      throw new ReplicaError('INVALID_OPTION', `batchSize must be a positive whole number, got ${String(options.batchSize)}.`)
    }
    this.sharedSyncLog = options.sharedSyncLog
    this.serializer = options.serializer ?? jsonReplicaSerializer
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
    if (options.reconciler && !options.storageRegistry) {
      throw new ReplicaError('INVALID_OPTION', 'a SyncReplica with a reconciler of the app needs its storageRegistry (the schema the reconciler reads); pass both, or neither for the default rules.')
    }
    this.compactHistories = options.compactHistories ?? (options.reconciler ? options.reconciler.compactableHistory === true : true)
    this.verdict = options.reconciler
      ? verdictOf(options.reconciler, options.storageRegistry!)
      : async (history) => foldObjectHistory(history)
    this.now = options.now ?? Date.now
    this.maxClockDriftMs = options.maxClockDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS
    this.storageRegistry = options.storageRegistry
  }

  private decode(stored: StoredReplicaEntry) {
    return decodeReplicaEntry(stored, this.serializer, { now: this.now(), maxClockDriftMs: this.maxClockDriftMs, storageRegistry: this.storageRegistry })
  }

  getConfig(): StorageModuleConfig {
    return replicaModuleConfig()
  }

  /** Integrates every entry of the user's log the replica has not read yet. One catch-up per user at a time. */
  catchUp(userId: UserId): Promise<ReplicaCatchUpResult> {
    validateUserId(userId)
    return this.lock.run(String(userId), () => this.integrateUnread(userId))
  }

  /** The user ids the replica holds data for. */
  async listUsers(): Promise<string[]> {
    const users = (await this.operation('findUsers', {})) as ReplicaUserRecord[]
    return users.map((user) => user.userId).sort()
  }

  /** The replica's own device in the log for this user, or null before its first catch-up of the user. */
  async getDeviceId(userId: UserId): Promise<DeviceId | null> {
    validateUserId(userId)
    return (await this.findUser(userId))?.deviceId ?? null
  }

  async getStats(userId: UserId): Promise<ReplicaStats> {
    validateUserId(userId)
    const user = await this.findUser(userId)
    return {
      objects: user?.objects ?? 0,
      liveObjects: user?.liveObjects ?? 0,
      entries: user?.entries ?? 0,
      bytes: user?.bytes ?? 0,
    }
  }

  /**
   * One page of the user's data for a device to start from: every object's
   * compacted history (tombstones too), in a stable order. The first call
   * (no cursor) catches up and fixes the snapshot's memo and totals.
   */
  async getSnapshotPage(options: { userId: UserId; cursor?: string | null; limit?: number }): Promise<SharedSyncLogSnapshotPage> {
    validateUserId(options.userId)
    const limit = pageLimit(options.limit, 500, 5000)
    let state = options.cursor ? decodeCursor(options.cursor) : null
    if (!state) {
      await this.catchUp(options.userId)
      const user = await this.findUser(options.userId)
      if (!user) {
        throw new ReplicaError('REPLICA_BEHIND', 'the replica could not read the log for this user; check the shared log is reachable.')
      }
      state = { memo: user.memo, after: '', totals: { objects: user.objects, entries: user.entries, bytes: user.bytes } }
    }
    const rows = (await this.operation('findObjectsAfter', {
      userId: String(options.userId),
      after: state.after,
      limit: limit + 1,
    })) as ReplicaObjectRecord[]
    const page = rows.slice(0, limit)
    const userKey = String(options.userId)
    return {
      memo: state.memo,
      objects: page.map((row) => ({
        collection: row.collection,
        pk: row.pk,
        entries: row.entries.map((entry) => ({ userId: options.userId ?? userKey, ...entry })),
      })),
      cursor: rows.length > limit ? encodeCursor({ ...state, after: page[page.length - 1]!.objectKey }) : null,
      totals: state.totals ?? { objects: 0, entries: 0, bytes: 0 },
    }
  }

  /**
   * Read-only, paged: the user's live objects (all collections, or one), in
   * a stable order. For an app's backend: a web view, an export.
   */
  async getObjects(options: { userId: UserId; collection?: string; cursor?: string | null; limit?: number }): Promise<{ objects: ReplicaObject[]; cursor: string | null }> {
    validateUserId(options.userId)
    const limit = pageLimit(options.limit, 100, 5000)
    const after = options.cursor ? decodeCursor(options.cursor).after : ''
    const params = { userId: String(options.userId), collection: options.collection, after, limit: limit + 1 }
    const rows = (await this.operation(options.collection ? 'findLiveObjectsOfCollectionAfter' : 'findLiveObjectsAfter', params)) as ReplicaObjectRecord[]
    const page = rows.slice(0, limit)
    return {
      objects: page.map((row) => ({ collection: row.collection, pk: row.pk, object: row.object ?? {} })),
      cursor: rows.length > limit ? encodeCursor({ memo: null, after: page[page.length - 1]!.objectKey, totals: null }) : null,
    }
  }

  /** One live object, or null. */
  async getObject(options: { userId: UserId; collection: string; pk: unknown }): Promise<Record<string, unknown> | null> {
    validateUserId(options.userId)
    const keys = [getObjectKey(options.collection, options.pk)]
    const [row] = (await this.operation('findObjectsByKeys', { userId: String(options.userId), keys })) as ReplicaObjectRecord[]
    return row?.exists ? (row.object ?? {}) : null
  }

  /** Entries the replica could not decode, with the reason: never dropped, never blocking the rest. */
  async getQuarantinedEntries(userId: UserId): Promise<ReplicaQuarantineRecord[]> {
    validateUserId(userId)
    return (await this.operation('findQuarantine', { userId: String(userId) })) as ReplicaQuarantineRecord[]
  }

  /**
   * Catches up, then compacts the user's log (see `SharedSyncLog.compact`):
   * the replica's own cursor is then at the end, so nothing it has not
   * integrated is deleted.
   */
  async compact(options: { userId: UserId; retentionMs: number; now?: Now }): Promise<SharedSyncLogCompactionResult> {
    if (typeof this.sharedSyncLog.compact !== 'function') {
      throw new ReplicaError('INVALID_OPTION', 'this shared log cannot compact (it has no compact()); use a log of @storex-sync that does.')
    }
    validateUserId(options.userId)
    return this.lock.run(String(options.userId), async () => {
      await this.integrateUnread(options.userId)
      return this.sharedSyncLog.compact!(options)
    })
  }

  private async findUser(userId: UserId): Promise<ReplicaUserRecord | null> {
    return ((await this.operation('findUser', { userId: String(userId) })) as ReplicaUserRecord | null) ?? null
  }

  private async integrateUnread(userId: UserId): Promise<ReplicaCatchUpResult> {
    let user = await this.findUser(userId)
    if (!user) {
      const deviceId = await this.sharedSyncLog.createDeviceId({ userId })
      const record: ReplicaUserRecord = { id: String(userId), userId: String(userId), deviceId, memo: null, objects: 0, liveObjects: 0, entries: 0, bytes: 0 }
      const { object } = await this.operation('createUser', { object: record })
      user = object as ReplicaUserRecord
    }
    const result: ReplicaCatchUpResult = { entries: 0, objects: 0, quarantined: 0 }
    await this.retryQuarantine(user)
    while (true) {
      let update: SharedSyncLogUpdate
      try {
        update = await this.sharedSyncLog.getUnsyncedEntries({ userId, deviceId: user.deviceId, batchSize: this.batchSize })
      } catch (error) {
        if (error instanceof SharedSyncLogError && error.code === 'SNAPSHOT_REQUIRED') {
          throw new ReplicaError(
            'REPLICA_BEHIND',
            `the log compacted entries of user ${JSON.stringify(String(userId))} that the replica had not integrated (it was silent for longer than the retention); ` +
              'delete its rows of this user and catch up again from a log that still holds every entry, or keep the replica catching up after every write.',
            { cause: error },
          )
        }
        if (error instanceof SharedSyncLogError && error.code === 'UNKNOWN_DEVICE') {
          // The log lost the replica's device (its tables were reset): register again and read it all;
          // what the replica holds already is recognised entry by entry.
          user.deviceId = await this.sharedSyncLog.createDeviceId({ userId })
          await this.operation('executeBatch', {
            batch: [{ operation: 'updateObjects', collection: REPLICA_USER_COLLECTION, where: { userId: user.userId }, updates: { deviceId: user.deviceId } }],
          })
          continue
        }
        throw error
      }
      const page = await this.integratePage(user, update)
      result.entries += update.entries.length
      result.objects += page.objects
      result.quarantined += page.quarantined
      await this.sharedSyncLog.markAsSeen(update, { userId, deviceId: user.deviceId })
      if (!update.hasMore) {
        return result
      }
    }
  }

  /** Entries kept aside until time or a schema update lifts the reason are integrated once it has. */
  private async retryQuarantine(user: ReplicaUserRecord): Promise<void> {
    const waiting = ((await this.operation('findQuarantine', { userId: user.userId })) as ReplicaQuarantineRecord[]).filter(
      (record) => RETRIED_REASONS.has(record.reason),
    )
    const ready: ReplicaQuarantineRecord[] = []
    for (const record of waiting) {
      if ((await this.decode(record)).ok) ready.push(record)
    }
    if (ready.length) {
      await this.integrateEntries(user, ready, { release: ready.map((record) => record.id!) })
    }
  }

  /** Merges one page into the histories and stores them with the new memo, in one batch. */
  private integratePage(user: ReplicaUserRecord, update: SharedSyncLogUpdate): Promise<{ objects: number; quarantined: number }> {
    const entries = update.entries.map((entry) => ({ deviceId: entry.deviceId, createdOn: entry.createdOn, sharedOn: entry.sharedOn, data: entry.data }))
    return this.integrateEntries(user, entries, { memo: update.memo })
  }

  private async integrateEntries(
    user: ReplicaUserRecord,
    entries: StoredReplicaEntry[],
    options: { memo?: unknown; release?: string[] },
  ): Promise<{ objects: number; quarantined: number }> {
    const incoming = new Map<string, { collection: string; pk: unknown; entries: StoredReplicaEntry[] }>()
    const problems: ReplicaQuarantineRecord[] = []
    for (const entry of entries) {
      const stored: StoredReplicaEntry = { deviceId: entry.deviceId, createdOn: entry.createdOn, sharedOn: entry.sharedOn, data: entry.data }
      const decoded = await this.decode(stored)
      if (!decoded.ok) {
        problems.push({ id: JSON.stringify([user.userId, replicaEntryKey(stored)]), userId: user.userId, entryKey: replicaEntryKey(stored), ...stored, reason: decoded.reason, message: decoded.message })
        continue
      }
      const key = getObjectKey(decoded.entry.collection, decoded.entry.pk)
      const group = incoming.get(key) ?? { collection: decoded.entry.collection, pk: decoded.entry.pk, entries: [] }
      group.entries.push(stored)
      incoming.set(key, group)
    }
    const existing = await findRows(this.operation.bind(this), user.userId, [...incoming.keys()])
    const batch: OperationBatch = []
    const totals = { objects: user.objects, liveObjects: user.liveObjects, entries: user.entries, bytes: user.bytes }
    for (const [objectKey, group] of incoming) {
      const before = existing.get(objectKey)
      const after = await mergeHistory(before?.entries ?? [], group.entries, {
        decode: (stored) => this.decode(stored),
        compact: this.compactHistories,
        verdict: this.verdict,
      })
      const bytes = after.entries.reduce((sum, entry) => sum + utf8Length(entry.data), 0)
      totals.objects += before ? 0 : 1
      totals.liveObjects += (after.object ? 1 : 0) - (before?.exists ? 1 : 0)
      totals.entries += after.entries.length - (before?.entries.length ?? 0)
      totals.bytes += bytes - (before?.bytes ?? 0)
      const record = { entries: after.entries, object: after.object, exists: after.object !== null, bytes }
      batch.push(
        before
          ? { operation: 'updateObjects', collection: REPLICA_OBJECT_COLLECTION, where: { userId: user.userId, objectKey }, updates: record }
          : { operation: 'createObject', collection: REPLICA_OBJECT_COLLECTION, args: { id: JSON.stringify([user.userId, objectKey]), userId: user.userId, objectKey, collection: group.collection, pk: group.pk, ...record } },
      )
    }
    const newProblems = await withoutKnownProblems(this.operation.bind(this), user.userId, problems)
    for (const problem of newProblems) {
      batch.push({ operation: 'createObject', collection: REPLICA_QUARANTINE_COLLECTION, args: problem })
    }
    if (options.release?.length) {
      batch.push({ operation: 'deleteObjects', collection: REPLICA_QUARANTINE_COLLECTION, where: { id: { $in: options.release } } })
    }
    const memo = options.memo !== undefined ? { memo: options.memo } : {}
    batch.push({
      operation: 'updateObjects',
      collection: REPLICA_USER_COLLECTION,
      where: { userId: user.userId },
      updates: { ...memo, ...totals },
    })
    await this.operation('executeBatch', { batch })
    Object.assign(user, totals, memo)
    return { objects: incoming.size, quarantined: newProblems.length }
  }
}
