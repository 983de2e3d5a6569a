export { reconcileSyncLog, createReconciler } from './reconcile'
export type { ReconcileSyncLogOptions, DoubleCreateBehaviour } from './reconcile'
export { ReconciliationError } from './errors'
export { foldObjectHistory } from './state'
