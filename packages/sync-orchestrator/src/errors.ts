import { SyncError } from '@storex-sync/errors'

export class SyncOrchestratorError extends SyncError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('@storex-sync/sync-orchestrator', code, message, options)
  }
}
