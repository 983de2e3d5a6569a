import type { StorageRegistry } from '@worldbrain/storex'
import type { ClientSyncLogStorage, ReconcilerFunction } from '@storex-sync/client-sync-log'
import type { DeviceId } from '@storex-sync/shared-sync-log-core'
import { discardOutgoingEntries, retryOutgoingEntries } from '@storex-sync/sync-orchestrator'
import type { SimulationStorage } from './backends'
import { REFUSE_FOREVER, REFUSE_UNTIL_UPGRADE, type LimitedSharedSyncLog } from './limited-log'
import { randomCreateValues } from './schema'

/** What the outgoing steps need of a device. */
export interface OutgoingDevice {
  name: string
  deviceId: DeviceId
  storage: SimulationStorage
  clientSyncLog: ClientSyncLogStorage
}

/** The first string or text field of a collection (not the pk), or null. */
function textFieldOf(registry: StorageRegistry, collection: string): string | null {
  const definition = registry.collections[collection]
  const pk = typeof definition?.pkIndex === 'string' ? definition.pkIndex : 'id'
  for (const [field, fieldDefinition] of Object.entries(definition?.fields ?? {})) {
    if (field !== pk && (fieldDefinition.type === 'string' || fieldDefinition.type === 'text')) return field
  }
  return null
}

/** A value the limited log refuses: 0 too large, 1 refused for good, 2 refused until the upgrade. */
export function refusedValue(kind: number, log: LimitedSharedSyncLog): string {
  switch (kind % 3) {
    case 0:
      return 'B'.repeat(log.spec.maxWriteBytes + 50)
    case 1:
      return `x ${REFUSE_FOREVER}`
    default:
      return `x ${REFUSE_UNTIL_UPGRADE}`
  }
}

/** Creates (pick even) or updates (pick odd, if the device holds an object) with a value the log refuses. */
export async function refusedWrite(
  device: OutgoingDevice,
  registry: StorageRegistry,
  collection: string,
  step: { pick: number; kind: number; seed?: number },
  log: LimitedSharedSyncLog,
  remember: (collection: string, pk: unknown) => void,
): Promise<string> {
  const field = textFieldOf(registry, collection)
  if (!field) return `no text field in ${collection}`
  const value = refusedValue(step.kind, log)
  const objects = device.storage.storageManager.collection(collection)
  const existing = (await objects.findObjects({})) as Array<Record<string, unknown>>
  const shown = value.length > 40 ? `${value.length} chars` : JSON.stringify(value)
  if (step.pick % 2 && existing.length) {
    const target = existing.sort((a, b) => String(a['id']).localeCompare(String(b['id'])))[step.pick % existing.length]!
    await objects.updateOneObject({ id: target['id'] }, { [field]: value })
    return `updated ${collection} ${target['id']}.${field} to a refused value (${shown})`
  }
  const { object } = await objects.createObject({ ...randomCreateValues(registry, collection, step.pick), [field]: value })
  remember(collection, object.id)
  return `created ${collection} ${object.id} with a refused value in ${field} (${shown})`
}

export async function retryOutgoing(device: OutgoingDevice): Promise<string> {
  const { released } = await retryOutgoingEntries({ clientSyncLog: device.clientSyncLog })
  return `released ${released} entries from the outgoing quarantine`
}

export async function discardOutgoing(device: OutgoingDevice, reconciler: ReconcilerFunction): Promise<string> {
  const { discarded, objects } = await discardOutgoingEntries({
    storageManager: device.storage.storageManager,
    clientSyncLog: device.clientSyncLog,
    reconciler,
  })
  return `discarded ${discarded} quarantined entries of ${objects} objects`
}
