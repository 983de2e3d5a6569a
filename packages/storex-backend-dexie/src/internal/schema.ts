import type { CollectionDefinition, StorageRegistry } from '@worldbrain/storex'
import { isChildOfRelationship, isConnectsRelationship, isRelationshipReference } from '@worldbrain/storex/lib/types/relationships.js'
import { StorexBackendDexieError } from '../errors'

/** Name of the multi-entry index (and field) holding the terms of an indexed text field. */
export const getTermsIndex = (fieldName: string) => `_${fieldName}_terms`

export interface DexieSchemaVersion {
  /** Dexie's version number (IndexedDB's is ten times it). */
  dexieSchemaVersion: number
  storexSchemaVersion: Date
  /** Dexie's `stores()` argument: one index string per object store. */
  schema: Record<string, string>
}

/**
 * The Dexie schema of every Storex schema version, exactly as
 * `@worldbrain/storex-backend-dexie` 0.3.1 makes it (version numbers, store
 * names, key paths and index names), so databases it created open without a
 * migration.
 */
export function getDexieHistory(registry: StorageRegistry): DexieSchemaVersion[] {
  const collections: Record<string, CollectionDefinition> = {}
  const versions: DexieSchemaVersion[] = []
  let dexieVersion = 0
  for (const { collections: versionCollections, version } of registry.getSchemaHistory()) {
    Object.assign(collections, versionCollections)
    const schema: Record<string, string> = {}
    for (const [name, definition] of Object.entries(collections)) {
      schema[name] = convertIndices(definition)
    }
    versions.push({ schema, dexieSchemaVersion: ++dexieVersion, storexSchemaVersion: version })
  }
  return versions
}

function relationshipField(definition: CollectionDefinition, reference: { relationship: string }): string | string[] {
  const relationship = definition.relationshipsByAlias?.[reference.relationship]
  if (!relationship) {
    throw new StorexBackendDexieError(
      'UNKNOWN_RELATIONSHIP',
      `collection '${definition.name}' has an index on the relationship '${reference.relationship}', which it does not define. Define the relationship or remove the index.`,
    )
  }
  if (isChildOfRelationship(relationship)) return relationship.fieldName!
  if (isConnectsRelationship(relationship)) return relationship.fieldNames!
  throw new StorexBackendDexieError('UNSUPPORTED_INDEX', `collection '${definition.name}' indexes a relationship of an unknown kind; index its field instead.`)
}

function convertIndices(definition: CollectionDefinition): string {
  const { fields, indices } = definition
  return (indices ? [...indices] : [])
    .sort(({ pk }) => (pk ? -1 : 1)) // the primary key comes first in Dexie (same comparator as 0.3.1, same order)
    .map((index) => {
      if (Array.isArray(index.field)) {
        const names = index.field.map((field) => {
          if (!isRelationshipReference(field)) return field
          const name = relationshipField(definition, field)
          if (Array.isArray(name)) {
            throw new StorexBackendDexieError('UNSUPPORTED_INDEX', `collection '${definition.name}': a compound index cannot include a 'connects' relationship.`)
          }
          return name
        })
        return `[${names.join('+')}]`
      }
      if (!isRelationshipReference(index.field) && fields[index.field as string]?.type === 'text') {
        return `*${index.fullTextIndexName || getTermsIndex(index.field as string)}`
      }
      const name = isRelationshipReference(index.field) ? relationshipField(definition, index.field) : index.field
      let prefix = index.unique ? '&' : ''
      prefix = index.pk && (index.autoInc || fields[index.field as string]?.type === 'auto-pk') ? '++' : prefix
      return `${prefix}${name}`
    })
    .join(', ')
}

/** One IndexedDB index the planner may use. */
export interface IndexInfo {
  /** Dexie's name: the field, or `[a+b]` for compound indices. */
  name: string
  fields: string[]
  multiEntry: boolean
}

/** The primary key and indices of a collection, from its Dexie schema string. */
export interface CollectionLayout {
  pk: string | string[] | null
  autoIncrement: boolean
  indices: IndexInfo[]
}

export function parseDexieSchema(schema: string): CollectionLayout {
  const parts = schema.split(',').map((part) => part.trim())
  const parse = (part: string) => {
    const bare = part.replace(/^(\+\+|&|\*)/, '')
    const fields = bare.startsWith('[') ? bare.slice(1, -1).split('+') : [bare]
    return { name: bare, fields, multiEntry: part.startsWith('*'), autoIncrement: part.startsWith('++') }
  }
  const [first = '', ...rest] = parts
  const primary = parse(first)
  return {
    pk: first === '' || first === '++' ? null : primary.fields.length > 1 ? primary.fields : primary.fields[0]!,
    autoIncrement: primary.autoIncrement,
    indices: rest.filter(Boolean).map((part) => {
      const { name, fields, multiEntry } = parse(part)
      return { name, fields, multiEntry }
    }),
  }
}
