import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { getObjectKey, getObjectPk, withoutPkFields } from '../pk'
import type { ClientSyncLogEntry, DeviceId } from '../types'
import { getEntryId } from './entries'
import { CLIENT_SYNC_LOG_STATE_COLLECTION } from './schema'

/** The state row that marks a collection's existing objects as recorded. */
export function baselineRowId(collection: string): string {
  return `baseline:${collection}`
}

/** The step that marks a collection's existing objects as recorded (at `now`, ms). */
export function baselineDoneStep(collection: string, now: number): OperationBatch[number] {
  return { operation: 'createObject', collection: CLIENT_SYNC_LOG_STATE_COLLECTION, args: { id: baselineRowId(collection), value: now } }
}

/**
 * Create entries for objects that exist without any log entry (written before
 * sync was enabled, while logging was disabled, or in a collection added to
 * the synced ones later). They get createdOn 1, 2, 3, ... after the device's
 * baseline counter: below every real clock value, so any real write of any
 * device, earlier or later, wins over them, and devices that hold the same
 * object from before sync merge by the usual double-create rule. Values that
 * the log already holds for this device are skipped.
 */
export function baselineEntries(options: {
  storageRegistry: StorageRegistry
  collection: string
  objects: Array<Record<string, unknown>>
  deviceId: DeviceId
  counter: number
  takenIds: Set<string>
}): { entries: ClientSyncLogEntry[]; counter: number } {
  let counter = options.counter
  const entries = options.objects.map((object): ClientSyncLogEntry => {
    do {
      counter += 1
    } while (options.takenIds.has(getEntryId(options.deviceId, counter)))
    return {
      operation: 'create',
      collection: options.collection,
      pk: getObjectPk(options.storageRegistry, options.collection, object),
      value: withoutPkFields(options.storageRegistry, options.collection, object),
      createdOn: counter,
      deviceId: options.deviceId,
      sharedOn: null,
      needsIntegration: false,
    }
  })
  return { entries, counter }
}

export function objectKeysOf(storageRegistry: StorageRegistry, collection: string, objects: Array<Record<string, unknown>>): string[] {
  return objects.map((object) => getObjectKey(collection, getObjectPk(storageRegistry, collection, object)))
}

export type { OperationBatch }
