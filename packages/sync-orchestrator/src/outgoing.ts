import { getPkWhere, type ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { integrateReceivedEntries } from './integrate'
import { SyncOrchestratorError } from './errors'
import type { SyncOptions, SyncResult } from './types'

export interface RetryOutgoingEntriesOptions {
  clientSyncLog: ClientSyncLogStorage
  /** Outgoing quarantine ids (from getOutgoingQuarantinedEntries); each releases its whole object. Default: all. */
  ids?: string[]
}

/**
 * Puts own entries from the outgoing quarantine back in line to be sent, for
 * instance after the server raised its limits. Works per object: every
 * quarantined entry of an object the ids name goes back, in order. The next
 * `doSync` sends them; an entry the log still refuses is quarantined again.
 */
export async function retryOutgoingEntries(options: RetryOutgoingEntriesOptions): Promise<{ released: number }> {
  const { released } = await options.clientSyncLog.releaseOutgoingQuarantinedEntries({ ids: options.ids })
  return { released }
}

export interface DiscardOutgoingEntriesOptions
  extends Pick<SyncOptions, 'storageManager' | 'clientSyncLog' | 'reconciler' | 'integrationBatchSize' | 'events'> {
  /** Outgoing quarantine ids; each discards its whole object's quarantined entries. Default: all. */
  ids?: string[]
}

/**
 * Gives up on own entries the shared log refused: they are deleted from the
 * client sync log, per object (with the entries held behind them), and each
 * affected object is rebuilt on this device from the history that remains,
 * which is exactly what the other devices hold. A note whose creation was
 * refused disappears; an edit that was refused is undone. The object is
 * deleted and its remaining entries are marked for integration in one
 * database batch, then integration runs with your reconciler.
 */
export async function discardOutgoingEntries(
  options: DiscardOutgoingEntriesOptions,
): Promise<{ discarded: number; objects: number; result: SyncResult }> {
  const { storageManager, clientSyncLog } = options
  if (!storageManager?.registry || !storageManager.backend) {
    throw new SyncOrchestratorError('STORAGE_MANAGER_MISSING', 'discardOutgoingEntries() needs the storageManager the client sync log lives in.')
  }
  if (typeof options.reconciler !== 'function') {
    throw new SyncOrchestratorError('RECONCILER_MISSING', 'discardOutgoingEntries() needs the reconciler doSync uses, to rebuild the objects it touches.')
  }
  const plan = await clientSyncLog.planOutgoingDiscard({ ids: options.ids })
  if (plan.entryIds.length) {
    const batch = [
      ...plan.objects.map((object) => ({
        operation: 'deleteObjects' as const,
        collection: object.collection,
        where: getPkWhere(storageManager.registry, object.collection, object.pk),
      })),
      ...plan.batch,
    ].map((step, index) => ({ ...step, placeholder: `discard-${index}` }))
    // Past the logging middleware (it must not log the rebuild), through the storage manager's write queue.
    await storageManager.backend.operation('executeBatch', batch)
  }
  const result = await integrateReceivedEntries(options)
  return { discarded: plan.entryIds.length, objects: plan.objects.length, result }
}
