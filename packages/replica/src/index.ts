export { SyncReplica, type SyncReplicaOptions, type ReplicaCatchUpResult, type ReplicaObject, type ReplicaStats } from './replica'
export { withReplica, type WithReplicaOptions } from './with-replica'
export { ReplicaError, REPLICA_PACKAGE } from './errors'
export type { ReplicaErrorCode } from './errors'
export { jsonReplicaSerializer, type ReplicaSerializer } from './internal/decode'
export {
  REPLICA_OBJECT_COLLECTION,
  REPLICA_USER_COLLECTION,
  REPLICA_QUARANTINE_COLLECTION,
  type ReplicaQuarantineRecord,
} from './internal/schema'
