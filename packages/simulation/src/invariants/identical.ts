import { findObsoleteEntries, getObjectKey, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import stringify from '../internal/stable-stringify'
import { describeDifference, diffContents } from './expected-state'
import { entryKeyOf, type FinalState } from './final-state'

/**
 * Keys ([deviceId, createdOn]) of the entries of a full history that can
 * still change a verdict: what every device's log must hold, however much
 * it (or the replica it started from) compacted.
 */
export function entriesThatMatter(history: ClientSyncLogEntry[]): Set<string> {
  const byObject = new Map<string, ClientSyncLogEntry[]>()
  for (const entry of history) {
    const key = getObjectKey(entry.collection, entry.pk)
    byObject.set(key, [...(byObject.get(key) ?? []), entry])
  }
  const obsolete = new Set<ClientSyncLogEntry>()
  for (const entries of byObject.values()) {
    for (const entry of findObsoleteEntries(entries)) obsolete.add(entry)
  }
  return new Set(history.filter((entry) => !obsolete.has(entry)).map((entry) => JSON.stringify([entry.deviceId, entry.createdOn])))
}

/**
 * Invariant 1: all devices hold identical data (full contents, normalized).
 * Their logs shrink (compaction at each sync, clean-ups, snapshots of
 * compacted histories), but never below what can still change a verdict
 * (unless only agreement is checked: a custom reconciler decides that).
 */
export function checkIdentical(state: FinalState): string[] {
  const problems: string[] = []
  const mustHold = state.expected ? entriesThatMatter(state.history) : new Set<string>()
  for (const device of state.devices) {
    const keys = new Set(device.entries.map(entryKeyOf))
    for (const sharedKey of mustHold) {
      if (!keys.has(sharedKey)) {
        problems.push(`[1 identical] ${device.name}'s log lacks the shared entry ${sharedKey}, which can still change a verdict`)
      }
    }
  }
  const [first, ...others] = state.devices
  for (const device of others) {
    if (stringify(device.contents) === stringify(first.contents)) continue
    const subject = `[1 identical] ${device.name} (vs ${first.name})`
    for (const difference of diffContents(device.contents, first.contents)) {
      problems.push(describeDifference(subject, difference, undefined).replace(/^\[[^\]]+\] /, ''))
    }
    problems.push(`[1 identical] ${device.name} and ${first.name} hold different data`)
  }
  return problems
}
