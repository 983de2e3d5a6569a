import { makeNote } from './notes'

export interface WorkloadOptions {
  n: number
  /** Updates of half the objects (one field each). */
  updates: boolean
  /** Deletes of a tenth of the objects. The original 0.1.1 does not log deletes. */
  deletes: boolean
}

/** How many changes (and log entries) a workload makes. */
export function countChanges(options: WorkloadOptions): { creates: number; updates: number; deletes: number; total: number } {
  const creates = options.n
  const updates = options.updates ? Math.floor(options.n / 2) : 0
  const deletes = options.deletes ? Math.floor(options.n / 10) : 0
  return { creates, updates, deletes, total: creates + updates + deletes }
}

/**
 * Device A's changes, one Storex operation each as an app makes them: N
 * creates, then single-field updates of every second object, then deletes of
 * every tenth object (offset so some updated objects are deleted too).
 */
export async function runWorkload(
  storageManager: { operation(name: string, ...args: any[]): Promise<any> },
  options: WorkloadOptions,
  progress?: (done: number) => void,
): Promise<{ ids: string[] }> {
  const ids: string[] = []
  for (let index = 0; index < options.n; index += 1) {
    const { object } = await storageManager.operation('createObject', 'note', makeNote(index))
    ids.push(object.id)
    if (progress && index % 5000 === 4999) progress(index + 1)
  }
  if (options.updates) {
    for (let index = 0; index < options.n; index += 2) {
      await storageManager.operation('updateObjects', 'note', { id: ids[index] }, { score: 1000 + index })
    }
  }
  if (options.deletes) {
    for (let index = 5; index < options.n; index += 10) {
      await storageManager.operation('deleteObjects', 'note', { id: ids[index] })
    }
  }
  return { ids }
}
