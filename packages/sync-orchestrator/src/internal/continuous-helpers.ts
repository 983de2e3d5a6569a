import { SyncOrchestratorError } from '../errors'
import type { ContinuousSyncCounts } from '../continuous-sync-types'
import type { SyncResult } from '../types'

export function checkDuration(value: number | undefined, fallback: number, name: string, allowZero: boolean): number {
  if (value === undefined) {
    return fallback
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new SyncOrchestratorError(
      'INVALID_OPTION',
      `ContinuousSync option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds, got ${String(value)}.`,
    )
  }
  return value
}

export function countsOf(result: SyncResult): ContinuousSyncCounts {
  // `quarantined` exists in newer SyncResults (a list of set-aside entries); read it when present.
  const quarantined = (result as { quarantined?: unknown }).quarantined
  const receivedQuarantined = (result.received as { quarantined?: unknown }).quarantined
  return {
    sent: result.sent.entries,
    received: result.received.entries,
    integrated: result.integrated.entries,
    quarantined:
      (Array.isArray(quarantined)
        ? quarantined.length
        : typeof receivedQuarantined === 'number'
          ? receivedQuarantined
          : 0) + (Array.isArray(result.outgoingQuarantined) ? result.outgoingQuarantined.length : 0),
  }
}

/** A 401 from the shared log (e.g. HttpSharedSyncLog's SharedSyncLogAuthError), also when wrapped as `cause`. */
export function isAuthFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const { code, status } = current as { code?: unknown; status?: unknown }
    if (status === 401 || code === 'UNAUTHENTICATED') return true
  }
  return false
}
