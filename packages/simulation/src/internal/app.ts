import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import type { SimulationStorage } from '../backends'
import { syncedCollectionsOf, type SimulationSchema } from '../schema'

/** The user all devices belong to. */
export const USER = 'simulated-user'

/** The older app version a schedule can mix in, and what its update registers. */
export interface OlderAppVersion {
  /** The collections of the older version: the first synced collection lacks `field`. */
  collections: SimulationSchema['collections']
  /** The collections after the update: that collection's history (older version, then `field` added). */
  updatedCollections: SimulationSchema['collections']
  /** The field the older version lacks. */
  field: { collection: string; field: string }
}

/** The app the devices run: its collections, which of them sync, and its older version (if it can have one). */
export interface SimulatedApp {
  collections: SimulationSchema['collections']
  synced: string[]
  /** Collections that are not synced: app data that must never travel. */
  unsynced: string[]
  /** Null when the first synced collection has no optional field to leave out. */
  olderVersion: OlderAppVersion | null
}

/** A validated schema as the app the devices run. */
export function describeApp(schema: SimulationSchema): SimulatedApp {
  const synced = syncedCollectionsOf(schema)
  return {
    collections: schema.collections,
    synced,
    unsynced: Object.keys(schema.collections).filter((name) => !synced.includes(name)),
    olderVersion: olderAppVersionOf(schema, synced),
  }
}

/** The registry of a device's storage (what its app version registered). */
export function registryOf(storage: SimulationStorage): StorageRegistry {
  return storage.storageManager.registry as StorageRegistry
}

/** A collection definition as an app declares it, without what storex adds when it registers one. */
function withoutDerivedProperties(definition: CollectionDefinition): CollectionDefinition {
  const { name: _name, fieldsWithCustomType: _custom, relationshipsByAlias: _by, reverseRelationshipsByAlias: _reverse, pkIndex, indices, ...rest } =
    structuredClone(definition) as CollectionDefinition & Record<string, unknown>
  const fields = Object.fromEntries(Object.entries(rest.fields).filter(([name, field]) => !(name === 'id' && field.type === 'auto-pk' && !pkIndex)))
  return { ...rest, fields, ...(indices?.length ? { indices: indices.filter((index) => !(index as { pk?: boolean }).pk) } : {}) } as CollectionDefinition
}

/**
 * The older app version lacks the last optional field of the first synced
 * collection; its update registers the collection's history (older version,
 * then the field added at a later date, as storex apps do).
 */
function olderAppVersionOf(schema: SimulationSchema, synced: string[]): OlderAppVersion | null {
  const collection = synced[0]
  const declared = collection === undefined ? undefined : schema.collections[collection]
  if (collection === undefined || !declared) return null
  const definition = withoutDerivedProperties(declared)
  const field = Object.entries(definition.fields).filter(([, field]) => (field as { optional?: boolean }).optional).at(-1)?.[0]
  if (!field) return null
  const { [field]: _dropped, ...olderFields } = definition.fields
  const older = { ...definition, fields: olderFields }
  const latest = Math.max(
    Date.parse('2026-11-30'), // the client sync log's newest collection
    ...Object.values(schema.collections).map((candidate) => new Date((candidate as { version: Date }).version).getTime()),
  )
  const added = { ...definition, version: new Date(latest + 86_400_000) }
  return {
    collections: { ...schema.collections, [collection]: older },
    updatedCollections: { ...schema.collections, [collection]: [older, added] as unknown as CollectionDefinition },
    field: { collection, field },
  }
}
