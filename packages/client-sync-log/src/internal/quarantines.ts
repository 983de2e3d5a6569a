import {
  CLIENT_SYNC_LOG_QUARANTINE_COLLECTION,
  fromStoredQuarantinedEntry,
  toStoredQuarantinedEntry,
  type QuarantineEntryInput,
  type QuarantinedEntry,
  type StoredQuarantinedEntry,
} from '../quarantine'
import {
  listOutgoing,
  planOutgoingDiscard,
  quarantinedObjects,
  quarantineOutgoing,
  releaseOutgoing,
  settleBehindDeletes,
  type OutgoingDiscardPlan,
  type OutgoingQuarantineContext,
  type OutgoingQuarantineInput,
  type OutgoingQuarantinedEntry,
  type StoredOutgoingQuarantinedEntry,
} from '../outgoing-quarantine'
import { deleteRowsSteps, firstOfEachId } from './batch-steps'
import { compareStrings } from './entries'
import { ClientSyncLogModule } from './log-module'

/**
 * ClientSyncLogStorage's two quarantines: received entries this device
 * cannot store (see quarantine.ts), and own entries the shared log refused
 * for good (see outgoing-quarantine.ts).
 */
export abstract class ClientSyncLogQuarantines extends ClientSyncLogModule {
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
    const existing = await this.existingIds([...byId.keys()], 'findQuarantined')
    const toInsert = [...byId.values()].filter((stored) => !existing.has(stored.id))
    await this.executeBatch(
      toInsert.map((args) => ({ operation: 'createObject', collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, args })),
    )
    return { quarantined: toInsert.length, duplicates: entries.length - toInsert.length }
  }

  /** Every quarantined entry, oldest quarantine first (ties by id). */
  async getQuarantinedEntries(): Promise<QuarantinedEntry[]> {
    const stored: StoredQuarantinedEntry[] = (await this.operation('findQuarantined', { where: {}, options: {} })) ?? []
    return stored.map(fromStoredQuarantinedEntry).sort((a, b) => a.quarantinedOn - b.quarantinedOn || compareStrings(a.id, b.id))
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
  getOutgoingQuarantinedObjects(): Promise<Map<string, number>> {
    return quarantinedObjects(this.outgoing)
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
}
