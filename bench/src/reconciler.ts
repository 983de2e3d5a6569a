import type { ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { createRawStorage } from './setup'

/**
 * A realistic mix as doSync hands it to the reconciler: objects in batches of
 * 500, each with its history from two devices: a create, on half of them
 * modifies from both devices (some concurrent on the same field), on a tenth
 * a delete, on a fiftieth a recreate after the delete. About a third of each
 * history is already integrated.
 */
export function makeReconcilerInput(objects: number): ClientSyncLogEntry[][] {
  const batches: ClientSyncLogEntry[][] = []
  let batch: ClientSyncLogEntry[] = []
  let clock = 1_700_000_000_000_000
  for (let index = 0; index < objects; index += 1) {
    const pk = `note${index}`
    const history: ClientSyncLogEntry[] = []
    const add = (deviceId: string, entry: Pick<ClientSyncLogEntry, 'operation'> & { value?: Record<string, unknown> }) => {
      clock += 1 + (index % 3)
      history.push({
        ...entry,
        deviceId,
        createdOn: clock,
        sharedOn: clock,
        needsIntegration: false,
        collection: 'note',
        pk,
      } as ClientSyncLogEntry)
    }
    add('a', { operation: 'create', value: { title: `Note ${index}`, body: 'text', score: index % 100 } })
    if (index % 2 === 0) {
      add('a', { operation: 'modify', value: { score: index } })
      add('b', { operation: 'modify', value: { score: index + 1, title: `Renamed ${index}` } })
    }
    if (index % 10 === 5) add('b', { operation: 'delete' })
    if (index % 50 === 5) add('a', { operation: 'create', value: { title: `Again ${index}`, body: 'again', score: 1 } })
    history.forEach((entry, position) => (entry.needsIntegration = position >= history.length / 3))
    batch.push(...history)
    if ((index + 1) % 500 === 0 || index === objects - 1) {
      batches.push(batch)
      batch = []
    }
  }
  return batches
}

export interface ReconcilerResult {
  objects: number
  entries: number
  operations: number
  ms: number
  entriesPerSecond: number
}

export async function measureReconciler(objects: number): Promise<ReconcilerResult> {
  const storage = await createRawStorage('sqlite')
  try {
    const storageRegistry = storage.storageManager.registry
    const batches = makeReconcilerInput(objects)
    const entries = batches.reduce((sum, batch) => sum + batch.length, 0)
    // Warm up once, then measure.
    reconcileSyncLog(batches[0]!, { storageRegistry })
    let operations = 0
    const started = performance.now()
    for (const batch of batches) {
      operations += (await reconcileSyncLog(batch, { storageRegistry })).length
    }
    const ms = performance.now() - started
    return { objects, entries, operations, ms, entriesPerSecond: (entries / ms) * 1000 }
  } finally {
    await storage.cleanup()
  }
}
