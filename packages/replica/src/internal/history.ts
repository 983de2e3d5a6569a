import type { StorageRegistry } from '@worldbrain/storex'
import { compactHistory, compareEntries, getPkFields, type ClientSyncLogEntry, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import { replicaEntryKey, type DecodedEntry } from './decode'
import type { StoredReplicaEntry } from './schema'

/**
 * One object's history with newly read entries (each entry once), compacted
 * by the default rules unless told not to, and what the reconciler makes of
 * it: the object's fields, or null when it does not exist.
 */
export async function mergeHistory(
  current: StoredReplicaEntry[],
  received: StoredReplicaEntry[],
  options: {
    decode: (stored: StoredReplicaEntry) => Promise<DecodedEntry>
    compact: boolean
    verdict: (history: ClientSyncLogEntry[]) => Promise<Record<string, unknown> | null>
  },
): Promise<{ entries: StoredReplicaEntry[]; object: Record<string, unknown> | null }> {
  const byKey = new Map<string, StoredReplicaEntry>()
  for (const entry of [...current, ...received]) {
    const key = replicaEntryKey(entry)
    if (!byKey.has(key)) byKey.set(key, entry)
  }
  const decoded: Array<{ stored: StoredReplicaEntry; entry: ClientSyncLogEntry }> = []
  for (const stored of byKey.values()) {
    const outcome = await options.decode(stored)
    if (outcome.ok) decoded.push({ stored, entry: outcome.entry })
  }
  const history = decoded.map((item) => item.entry)
  const kept = options.compact ? compactHistory(history) : [...history].sort(compareEntries)
  const storedOf = new Map(decoded.map((item) => [item.entry, item.stored]))
  return { entries: kept.map((entry) => storedOf.get(entry)!), object: await options.verdict(kept) }
}

/**
 * What an app's reconciler makes of one object's history, as a device that
 * does not hold the object would apply it: every entry passed as not yet
 * integrated; the fields of the createObject it returns (without the pk), or
 * null when it creates nothing.
 */
export function verdictOf(reconciler: ReconcilerFunction, storageRegistry: StorageRegistry) {
  return async (history: ClientSyncLogEntry[]): Promise<Record<string, unknown> | null> => {
    if (!history.length) return null
    const { collection } = history[0]!
    const operations = await reconciler(
      history.map((entry) => ({ ...entry, needsIntegration: true })),
      { storageRegistry },
    )
    const create = operations.find((step: any) => step.operation === 'createObject' && step.collection === collection) as { args?: Record<string, unknown> } | undefined
    if (!create?.args) return null
    const pkFields = new Set(getPkFields(storageRegistry, collection))
    return Object.fromEntries(Object.entries(create.args).filter(([field]) => !pkFields.has(field)))
  }
}
