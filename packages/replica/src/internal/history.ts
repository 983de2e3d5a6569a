import { compactHistory, compareEntries, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { foldObjectHistory } from '@storex-sync/reconciliation'
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
  options: { decode: (stored: StoredReplicaEntry) => Promise<DecodedEntry>; compact: boolean },
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
  return { entries: kept.map((entry) => storedOf.get(entry)!), object: foldObjectHistory(kept) }
}
