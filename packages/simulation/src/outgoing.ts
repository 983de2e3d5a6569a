import type { StorageRegistry } from '@worldbrain/storex'
import { getObjectKey, type ClientSyncLogEntry, type ClientSyncLogStorage, type ReconcilerFunction } from '@storex-sync/client-sync-log'
import { measureEntryBytes, type DeviceId } from '@storex-sync/shared-sync-log-core'
import { discardOutgoingEntries, retryOutgoingEntries } from '@storex-sync/sync-orchestrator'
import type { SimulationStorage } from './backends'
import { LimitedSharedSyncLog, REFUSE_FOREVER, REFUSE_UNTIL_UPGRADE, entryKey } from './limited-log'
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

function serialized(entry: ClientSyncLogEntry): string {
  return JSON.stringify(
    entry.operation === 'delete'
      ? { operation: 'delete', collection: entry.collection, pk: entry.pk }
      : { operation: entry.operation, collection: entry.collection, pk: entry.pk, value: entry.value },
  )
}

/**
 * The quarantined entries are exactly those that had to be: each one set
 * aside for itself is one the log refused by name or too large on its own
 * (under the original limit); each one held is behind an earlier quarantined
 * entry of its object; and no own entry waits outside the quarantine.
 * With `onlyForever`, only entries refused for good may be left.
 */
export async function checkOutgoingQuarantines(devices: OutgoingDevice[], log: LimitedSharedSyncLog, onlyForever: boolean): Promise<string[]> {
  const problems: string[] = []
  for (const device of devices) {
    const listed = await device.clientSyncLog.getOutgoingQuarantinedEntries()
    const firstRefused = new Map<string, number>()
    for (const item of listed) {
      const entry = item.entry
      if (!entry) {
        problems.push(`[6 quarantine] ${device.name}'s outgoing quarantine lists ${item.id}, which its log no longer holds`)
        continue
      }
      if (item.reason === 'HELD_BEHIND') continue
      const data = serialized(entry)
      const bytes = measureEntryBytes({ createdOn: entry.createdOn, data })
      const forever = data.includes(REFUSE_FOREVER)
      const refusable = forever || data.includes(REFUSE_UNTIL_UPGRADE) || bytes > log.spec.maxWriteBytes - 100
      if (!refusable && !log.refusedEntries.has(entryKey(entry.deviceId, entry.createdOn))) {
        problems.push(`[6 quarantine] ${device.name} quarantined ${item.id} (${item.reason}: ${item.message}), which the log would accept (${bytes} bytes)`)
      }
      if (onlyForever && !forever) {
        problems.push(`[6 quarantine] ${device.name} still quarantines ${item.id} (${item.reason}) after the server upgrade and a retry`)
      }
      firstRefused.set(item.objectKey, Math.min(firstRefused.get(item.objectKey) ?? Infinity, entry.createdOn))
    }
    for (const item of listed) {
      if (item.reason !== 'HELD_BEHIND' || !item.entry) continue
      if (!(item.entry.createdOn > (firstRefused.get(item.objectKey) ?? Infinity))) {
        problems.push(`[6 quarantine] ${device.name} holds ${item.id} behind nothing: no earlier entry of ${item.objectKey} is quarantined`)
      }
    }
    // Later own entries of an object with a quarantined entry are held, never sent.
    for (const entry of await device.clientSyncLog.getEntries()) {
      const first = firstRefused.get(getObjectKey(entry.collection, entry.pk))
      if (first === undefined || entry.createdOn <= first || JSON.stringify(entry.deviceId) !== JSON.stringify(device.deviceId)) continue
      if (!listed.some((item) => item.entry && item.entry.createdOn === entry.createdOn && JSON.stringify(item.entry.deviceId) === JSON.stringify(entry.deviceId))) {
        problems.push(`[6 quarantine] ${device.name} sent ${entryKey(entry.deviceId, entry.createdOn)} although an earlier entry of its object is quarantined`)
      }
    }
    const pending = await device.clientSyncLog.countPending()
    if (pending.unshared) {
      problems.push(`[6 quarantine] ${device.name} has ${pending.unshared} own entries neither sent nor quarantined after the final round`)
    }
    for (const entry of await device.clientSyncLog.getEntries()) {
      if (entry.sharedOn === null && !listed.some((item) => item.entry && getObjectKey(item.collection, item.pk) === getObjectKey(entry.collection, entry.pk))) {
        problems.push(`[6 quarantine] ${device.name}'s unsent entry ${entryKey(entry.deviceId, entry.createdOn)} is not in the outgoing quarantine`)
      }
    }
  }
  return problems
}
