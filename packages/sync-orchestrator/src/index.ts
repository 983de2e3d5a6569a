export {
  doSync,
  receiveLogEntries,
  shareLogEntries,
  integrateReceivedEntries,
  validateSyncOptions,
  jsonSyncSerializer,
  DEFAULT_BATCH_SIZE,
  DEFAULT_INTEGRATION_BATCH_SIZE,
} from './do-sync'
export { SyncOrchestratorError } from './errors'
export type {
  CommonSyncOptions,
  SyncOptions,
  SyncResult,
  SyncSerializer,
  SyncPreSendProcessor,
  SyncPostReceiveProcessor,
  SyncStage,
  SyncEventMap,
  SyncEventName,
  SyncEventEmitter,
} from './types'
