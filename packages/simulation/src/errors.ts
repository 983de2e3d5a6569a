import { syncErrorClass } from '@storex-sync/errors'

/** What a program can switch on; the package README says what each one means and what to do. */
export type SimulationErrorCode = 'INVALID_OPTION' | 'UNSUPPORTED_SCHEMA' | 'INVALID_SCHEDULE' | 'RECONCILER_DIVERGES'

/** Error thrown by `@storex-sync/simulation`; `RECONCILER_DIVERGES` comes from assertReconcilerConverges. */
export class SimulationError extends syncErrorClass<SimulationErrorCode>('@storex-sync/simulation') {}
