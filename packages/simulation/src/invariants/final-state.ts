import type { StorageRegistry } from '@worldbrain/storex'
import { getObjectKey, getQuarantineId, type ClientSyncLogEntry, type QuarantinedEntry } from '@storex-sync/client-sync-log'
import type { DeviceId, SharedSyncLogEntry } from '@storex-sync/shared-sync-log-core'
import type { SimulationStorage } from '../backends'
import { replicaContents } from '../cloud'
import stringify from '../internal/stable-stringify'
import { USER } from '../internal/app'
import type { SimulationWorld } from '../internal/world'
import { normalizeObject } from '../schema'
import { foldHistories, type DeviceContents, type FoldStates } from './expected-state'

type StoredObject = Record<string, unknown>

/** What one device holds after the final round. */
export interface DeviceFinalState {
  name: string
  deviceId: DeviceId
  /** Each synced collection's objects as the device's storage returns them. */
  objects: Map<string, StoredObject[]>
  /** The same, normalized (dates as ms, json as stable text...), by object key. */
  contents: DeviceContents
  /** Its client sync log. */
  entries: ClientSyncLogEntry[]
  pending: { unshared: number; needsIntegration: number }
  /** Each unsynced collection's objects. */
  localObjects: Map<string, StoredObject[]>
  /** How many objects the app wrote to unsynced collections. */
  localWrites: number
  /** Received entries it keeps aside. */
  quarantined: QuarantinedEntry[]
}

/** Everything the invariants check after the final round. */
export interface FinalState {
  /** The newest app version's registry. */
  registry: StorageRegistry
  synced: string[]
  /** Tab 0 of every device, in the schedule's order. */
  devices: [DeviceFinalState, ...DeviceFinalState[]]
  /** Every entry the shared log ever accepted from the devices (compaction may have deleted it from the log since). */
  shared: SharedSyncLogEntry[]
  /** The same entries in the client log's form: the full history. */
  history: ClientSyncLogEntry[]
  /** The entries of the rogue writer, which every device must keep aside. */
  rogueEntries: Array<{ deviceId: DeviceId; createdOn: number }>
  /** The server's replica after a last catch-up, when the schedule has one. */
  replica: { objects: Record<string, Record<string, StoredObject>>; quarantinedIds: string[] } | null
  /** What every device must hold (under `expectedState`), and each object's history; null when only agreement is checked. */
  expected: { contents: DeviceContents; states: FoldStates } | null
}

/** Key of a log entry: its device and createdOn. */
export function entryKeyOf(entry: { deviceId: unknown; createdOn: number }): string {
  return stringify([entry.deviceId, entry.createdOn])
}

/** An entry of the archive in the client log's form (the simulation's devices serialize with JSON). */
function decodeArchived(shared: SharedSyncLogEntry): ClientSyncLogEntry {
  const data = JSON.parse(shared.data)
  return {
    deviceId: shared.deviceId,
    createdOn: shared.createdOn,
    sharedOn: shared.sharedOn,
    needsIntegration: false,
    operation: data.operation,
    collection: data.collection,
    pk: data.pk,
    ...(data.operation === 'delete' ? {} : { value: data.value ?? {} }),
  } as ClientSyncLogEntry
}

async function findAll(storage: SimulationStorage, collection: string): Promise<StoredObject[]> {
  return (await storage.storageManager.collection(collection).findObjects({})) as StoredObject[]
}

/** Reads what every device, the shared log and the replica hold after the final round. */
export async function readFinalState(world: SimulationWorld): Promise<FinalState> {
  const registry = world.newestRegistry()
  const { synced, unsynced } = world.app
  const rogueDeviceId = stringify(world.rogue.deviceId)
  const shared = world.archive.entries().filter((entry) => stringify(entry.deviceId) !== rogueDeviceId)
  const devices: DeviceFinalState[] = []
  for (const device of world.devices) {
    const objects = new Map<string, StoredObject[]>()
    const contents: DeviceContents = {}
    for (const collection of synced) {
      const found = await findAll(device.storage, collection)
      objects.set(collection, found)
      const normalized: DeviceContents[string] = (contents[collection] = {})
      for (const object of found) normalized[getObjectKey(collection, object['id'])] = normalizeObject(registry, collection, object)
    }
    const entries = await device.clientSyncLog.getEntries()
    const pending = await device.clientSyncLog.countPending()
    const localObjects = new Map<string, StoredObject[]>()
    for (const collection of unsynced) localObjects.set(collection, await findAll(device.storage, collection))
    const quarantined = await device.clientSyncLog.getQuarantinedEntries()
    devices.push({ name: device.name, deviceId: device.deviceId, objects, contents, entries, pending, localObjects, localWrites: device.localWrites, quarantined })
  }
  const [first, ...others] = devices
  if (!first) throw new Error('a run without devices has no final state')

  const history = shared.map(decodeArchived)
  let expected: FinalState['expected'] = null
  if (world.expectedState) {
    // The whole history, as the shared log holds it (devices may have cleaned theirs up), and what never reached it.
    const sharedKeys = new Set(shared.map(entryKeyOf))
    const deviceEntries = new Map<string, ClientSyncLogEntry>()
    for (const entry of devices.flatMap((device) => device.entries)) deviceEntries.set(entryKeyOf(entry), entry)
    const entries = [...history, ...[...deviceEntries.values()].filter((entry) => !sharedKeys.has(entryKeyOf(entry)))]
    expected = { contents: world.expectedState(entries, registry), states: foldHistories(entries, registry) }
  }

  let replica: FinalState['replica'] = null
  if (world.cloud) {
    await world.cloud.replica.catchUp(USER)
    const objects = await replicaContents(world.cloud.replica, USER)
    const quarantinedIds = (await world.cloud.replica.getQuarantinedEntries(USER)).map((entry) => getQuarantineId(entry.deviceId, entry.createdOn))
    replica = { objects, quarantinedIds }
  }
  return { registry, synced, devices: [first, ...others], shared, history, rogueEntries: world.rogue.entries, replica, expected }
}
