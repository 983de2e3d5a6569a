import type { SyncSerializer } from './types'

/** JSON, with dates revived afterwards from the schema's datetime fields (doSync does that for any serializer). */
export const jsonSyncSerializer: SyncSerializer = {
  serializeSharedSyncLogEntryData: (data) => JSON.stringify(data),
  deserializeSharedSyncLogEntryData: (serialized) => JSON.parse(serialized),
}
