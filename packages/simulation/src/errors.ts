import { SyncError } from '@storex-sync/errors'

/**
 * Error thrown by `@storex-sync/simulation`. Codes: `INVALID_OPTION`,
 * `UNSUPPORTED_SCHEMA`, `INVALID_SCHEDULE`, `INVARIANT_VIOLATED`,
 * `RECONCILER_DIVERGES` (assertReconcilerConverges).
 */
export class SimulationError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/simulation', code, message, options)
  }
}
