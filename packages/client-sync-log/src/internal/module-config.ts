import type { StorageModuleConfig } from '@worldbrain/storex-pattern-modules'
import {
  CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
  clientSyncLogOutgoingQuarantineCollection,
} from '../outgoing-quarantine'
import { CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, clientSyncLogQuarantineCollection } from '../quarantine'
import {
  CLIENT_SYNC_LOG_COLLECTION,
  CLIENT_SYNC_LOG_STATE_COLLECTION,
  clientSyncLogEntryCollection,
  clientSyncLogStateCollection,
} from './schema'

/** The finders of ClientSyncLogStorage's operations, by the collection they read. */
export type LogFindOperation = 'findEntries' | 'findQuarantined' | 'findOutgoingQuarantined'

/** The log's collections and the storage operations ClientSyncLogStorage runs on them. */
export function clientSyncLogModuleConfig(): StorageModuleConfig {
  const collection = CLIENT_SYNC_LOG_COLLECTION
  return {
    collections: {
      [collection]: clientSyncLogEntryCollection,
      [CLIENT_SYNC_LOG_QUARANTINE_COLLECTION]: clientSyncLogQuarantineCollection,
      [CLIENT_SYNC_LOG_STATE_COLLECTION]: clientSyncLogStateCollection,
      [CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION]: clientSyncLogOutgoingQuarantineCollection,
    },
    operations: {
      executeLogBatch: { operation: 'executeBatch', args: ['$batch'] },
      findEntries: { operation: 'findObjects', collection, args: ['$where', '$options'] },
      countEntries: { operation: 'countObjects', collection, args: ['$where'] },
      findQuarantined: {
        operation: 'findObjects',
        collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION,
        args: ['$where', '$options'],
      },
      countQuarantined: { operation: 'countObjects', collection: CLIENT_SYNC_LOG_QUARANTINE_COLLECTION, args: ['$where'] },
      findState: { operation: 'findObjects', collection: CLIENT_SYNC_LOG_STATE_COLLECTION, args: ['$where'] },
      findOutgoingQuarantined: {
        operation: 'findObjects',
        collection: CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
        args: ['$where', '$options'],
      },
      countOutgoingQuarantined: {
        operation: 'countObjects',
        collection: CLIENT_SYNC_LOG_OUTGOING_QUARANTINE_COLLECTION,
        args: ['$where'],
      },
    },
  }
}
