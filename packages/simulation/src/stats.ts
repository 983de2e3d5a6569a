/** What one run did; `simulate` sums them over its seeds. */
export interface RunStats {
  steps: number
  syncs: number
  faultsFired: number
  entries: number
  quarantined: number
  /** Own entries set aside because the shared log refused them (or held behind such). */
  outgoingQuarantined: number
  /** Quarantined own entries dropped because a later delete of their object made them moot. */
  outgoingSettled: number
  integrationFailures: number
  /** Devices that started from the replica's snapshot: new ones ('fresh'), and retired ones back with data ('merge'). */
  bootstraps: { fresh: number; merge: number }
  /** Compaction steps, the devices they retired and the log entries they deleted. */
  compactions: { runs: number; retiredDevices: number; deletedEntries: number }
  durationMs: number
}

export function emptyRunStats(): RunStats {
  return {
    steps: 0,
    syncs: 0,
    faultsFired: 0,
    entries: 0,
    quarantined: 0,
    outgoingQuarantined: 0,
    outgoingSettled: 0,
    integrationFailures: 0,
    bootstraps: { fresh: 0, merge: 0 },
    compactions: { runs: 0, retiredDevices: 0, deletedEntries: 0 },
    durationMs: 0,
  }
}

/** Adds `stats` to `total`; counts a report of an older run left out as 0. */
export function addRunStats(total: RunStats, stats: Partial<RunStats>): void {
  total.steps += stats.steps ?? 0
  total.syncs += stats.syncs ?? 0
  total.faultsFired += stats.faultsFired ?? 0
  total.entries += stats.entries ?? 0
  total.quarantined += stats.quarantined ?? 0
  total.outgoingQuarantined += stats.outgoingQuarantined ?? 0
  total.outgoingSettled += stats.outgoingSettled ?? 0
  total.integrationFailures += stats.integrationFailures ?? 0
  total.bootstraps.fresh += stats.bootstraps?.fresh ?? 0
  total.bootstraps.merge += stats.bootstraps?.merge ?? 0
  total.compactions.runs += stats.compactions?.runs ?? 0
  total.compactions.retiredDevices += stats.compactions?.retiredDevices ?? 0
  total.compactions.deletedEntries += stats.compactions?.deletedEntries ?? 0
}
