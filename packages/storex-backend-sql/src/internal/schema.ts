import type { StorageRegistry } from '@worldbrain/storex'
import type { Dialect } from './dialect'
import { StorexBackendSqlError } from '../errors'

/** What the backend knows about one Storex field, as stored in one column. */
export interface ColumnInfo {
  /** The key in Storex objects (the relationship alias for relationship columns). */
  key: string
  /** The column name in the table. */
  column: string
  /** Storex primitive type ('auto-pk' for generated keys). */
  type: string
  /** Converts a value from an object into what the driver binds; null for no conversion. */
  toDb: ((value: any) => any) | null
  /** Converts a value the driver returns into what Storex objects hold; null for no conversion. */
  fromDb: ((value: any) => any) | null
  /** A custom Storex field (prepareForStorage / prepareFromStorage). */
  fieldObject?: { prepareForStorage(value: any): Promise<any>; prepareFromStorage(value: any): Promise<any> }
  isPk: boolean
  generated: boolean
  /** The column is used in a key or index (MySQL needs a bounded type there). */
  indexed: boolean
}

export interface IndexInfo {
  name: string
  columns: string[]
  unique: boolean
}

export interface CollectionInfo {
  name: string
  table: string
  columns: ColumnInfo[]
  byKey: Map<string, ColumnInfo>
  pkColumns: ColumnInfo[]
  /** The single generated pk column, if any. */
  generatedPk: ColumnInfo | null
  /** The columns an insert writes when the database generates the pk. */
  nonGeneratedColumns: ColumnInfo[]
  indices: IndexInfo[]
  /** Columns whose values need a conversion on read. */
  readConverters: ColumnInfo[]
  /** Columns with custom Storex field types (async conversion). */
  customColumns: ColumnInfo[]
  /** `"a", "b" AS "c"`: the select list, reading columns under their keys. */
  selectList: string
}

export type AutoPkType = 'int' | 'string'

function isRelationshipReference(value: unknown): value is { relationship: string } {
  return !!value && typeof value === 'object' && typeof (value as any).relationship === 'string'
}

function shortHash(text: string): string {
  let hash = 5381
  for (let i = 0; i < text.length; i++) {
    hash = ((hash << 5) + hash + text.charCodeAt(i)) | 0
  }
  return (hash >>> 0).toString(36)
}

/** An index name within PostgreSQL's (63) and MySQL's (64) limits, unique per table and columns. */
export function indexName(table: string, columns: string[], unique: boolean): string {
  const base = `${unique ? 'uq' : 'ix'}_${table}_${columns.join('_')}`
  if (base.length <= 60) {
    return base
  }
  return `${base.slice(0, 50)}_${shortHash(base)}`
}

function makeConverters(
  type: string,
  dialect: Dialect,
): { toDb: ColumnInfo['toDb']; fromDb: ColumnInfo['fromDb'] } {
  switch (type) {
    case 'boolean':
      if (dialect.name === 'postgres') {
        return { toDb: (v) => (v == null ? null : !!v), fromDb: null }
      }
      return { toDb: (v) => (v == null ? null : v ? 1 : 0), fromDb: (v) => (v == null ? null : !!v) }
    case 'datetime':
      if (dialect.name === 'sqlite') {
        return {
          toDb: (v) => (v == null ? null : v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : v),
          fromDb: (v) => (v == null ? null : new Date(v)),
        }
      }
      return {
        toDb: (v) => (v == null ? null : v instanceof Date ? v : new Date(v)),
        fromDb: (v) => (v == null ? null : v instanceof Date ? v : new Date(v)),
      }
    case 'json':
      return {
        toDb: (v) => (v == null ? null : JSON.stringify(v)),
        fromDb: (v) => (v == null ? null : typeof v === 'string' ? JSON.parse(v) : v),
      }
    case 'int':
    case 'auto-pk':
    case 'foreign-key':
      // pg returns int8 as a string unless the pool parses it; mysql2 may return BIGINT as a string too.
      return dialect.name === 'sqlite' ? { toDb: null, fromDb: null } : { toDb: null, fromDb: (v) => (typeof v === 'string' ? Number(v) : v) }
    case 'float':
    case 'timestamp':
      return dialect.name === 'sqlite' ? { toDb: null, fromDb: null } : { toDb: null, fromDb: (v) => (typeof v === 'string' ? Number(v) : v) }
    default:
      return { toDb: null, fromDb: null }
  }
}

/**
 * Reads the registry into the backend's view of each collection: columns
 * (relationship fields included), pk, indices, converters.
 */
export function describeCollections(
  registry: StorageRegistry,
  dialect: Dialect,
  autoPkType: AutoPkType,
): Map<string, CollectionInfo> {
  const result = new Map<string, CollectionInfo>()
  const collections = registry.collections as Record<string, any>

  const pkTypeOf = (collectionName: string): string => {
    const def = collections[collectionName]
    if (!def) {
      return 'string'
    }
    const pk = def.pkIndex
    if (typeof pk !== 'string') {
      return 'string'
    }
    const type = def.fields[pk]?.type
    if (type === 'auto-pk') {
      return autoPkType === 'int' ? 'int' : 'string'
    }
    return primitiveTypeOf(def.fields[pk]) ?? 'string'
  }

  for (const [name, def] of Object.entries(collections)) {
    const columns: ColumnInfo[] = []
    const byKey = new Map<string, ColumnInfo>()
    const add = (info: Omit<ColumnInfo, 'toDb' | 'fromDb' | 'indexed'>) => {
      const storageType = info.type === 'auto-pk' ? (autoPkType === 'int' ? 'int' : 'string') : info.type
      const column: ColumnInfo = { ...info, ...makeConverters(storageType, dialect), indexed: info.isPk }
      columns.push(column)
      byKey.set(column.key, column)
      if (column.column !== column.key) {
        byKey.set(column.column, column)
      }
    }
    const pkIndex = def.pkIndex
    const pkFields = new Set<string>()
    const pkList: Array<string | { relationship: string }> = Array.isArray(pkIndex) ? pkIndex : pkIndex != null ? [pkIndex] : []
    for (const entry of pkList) {
      pkFields.add(typeof entry === 'string' ? entry : entry.relationship)
    }
    for (const [fieldName, field] of Object.entries(def.fields as Record<string, any>)) {
      const type = field.type === 'auto-pk' ? 'auto-pk' : primitiveTypeOf(field) ?? 'string'
      add({
        key: fieldName,
        column: fieldName,
        type,
        fieldObject: def.fieldsWithCustomType?.includes(fieldName) ? field.fieldObject : undefined,
        isPk: pkFields.has(fieldName),
        generated: type === 'auto-pk' && autoPkType === 'int' && typeof pkIndex === 'string' && pkIndex === fieldName,
      })
    }
    for (const relationship of (def.relationships ?? []) as any[]) {
      if (relationship.connects) {
        for (let i = 0; i < 2; i++) {
          const key = relationship.aliases[i]
          if (byKey.has(key)) continue
          add({
            key,
            column: relationship.fieldNames[i],
            type: pkTypeOf(relationship.connects[i]),
            isPk: pkFields.has(key),
            generated: false,
          })
        }
      } else if (relationship.alias) {
        if (byKey.has(relationship.alias)) continue
        add({
          key: relationship.alias,
          column: relationship.fieldName,
          type: pkTypeOf(relationship.targetCollection),
          isPk: pkFields.has(relationship.alias),
          generated: false,
        })
      }
    }

    const columnOfSource = (source: string | { relationship: string }): ColumnInfo => {
      const key = isRelationshipReference(source) ? source.relationship : source
      const column = byKey.get(key)
      if (!column) {
        throw new StorexBackendSqlError(
          'UNKNOWN_FIELD',
          `an index of collection '${name}' names ${JSON.stringify(source)}, which is neither a field nor a relationship of it; fix the collection's indices`,
        )
      }
      return column
    }

    const pkColumns = pkList.map(columnOfSource)
    const indices: IndexInfo[] = []
    const seen = new Set<string>()
    const pkSignature = pkColumns.map((c) => c.column).join(',')
    for (const index of (def.indices ?? []) as any[]) {
      if (index.pk) continue
      const sources = Array.isArray(index.field) ? index.field : [index.field]
      const indexColumns = sources.map(columnOfSource)
      for (const column of indexColumns) column.indexed = true
      const names = indexColumns.map((c: ColumnInfo) => c.column)
      const signature = names.join(',')
      if (signature === pkSignature) continue
      const unique = !!index.unique
      const key = `${unique}:${signature}`
      if (seen.has(key)) continue
      seen.add(key)
      indices.push({ name: indexName(name, names, unique), columns: names, unique })
    }
    // Relationship columns are looked up by parent: index them like TypeORM did.
    for (const column of columns) {
      if (column.column !== column.key && !column.isPk && !indices.some((index) => index.columns[0] === column.column)) {
        column.indexed = true
        indices.push({ name: indexName(name, [column.column], false), columns: [column.column], unique: false })
      }
    }
    for (const uniqueTogether of (def.uniqueTogether ?? []) as string[][]) {
      const indexColumns = uniqueTogether.map(columnOfSource)
      for (const column of indexColumns) column.indexed = true
      const names = indexColumns.map((c) => c.column)
      indices.push({ name: indexName(name, names, true), columns: names, unique: true })
    }

    const generated = columns.filter((c) => c.generated)
    const generatedPk = generated.length === 1 ? generated[0]! : null
    const selectList = columns
      .map((c) => (c.column === c.key ? dialect.quote(c.column) : `${dialect.quote(c.column)} AS ${dialect.quote(c.key)}`))
      .join(', ')
    result.set(name, {
      name,
      table: name,
      columns,
      byKey,
      pkColumns,
      generatedPk,
      nonGeneratedColumns: columns.filter((c) => c !== generatedPk),
      indices,
      readConverters: columns.filter((c) => c.fromDb),
      customColumns: columns.filter((c) => c.fieldObject),
      selectList,
    })
  }
  return result
}

function primitiveTypeOf(field: any): string | undefined {
  if (!field) return undefined
  if (field.fieldObject?.primitiveType) return field.fieldObject.primitiveType
  return field.type
}

/** The SQL column type of a column in a dialect. */
export function columnType(column: ColumnInfo, dialect: Dialect): string {
  const type = column.type === 'auto-pk' ? (column.generated ? 'auto-pk-int' : 'string') : column.type
  switch (dialect.name) {
    case 'sqlite':
      switch (type) {
        case 'auto-pk-int':
          return 'integer'
        case 'int':
        case 'boolean':
          return 'integer'
        case 'float':
        case 'timestamp':
        case 'datetime':
          return 'real'
        case 'blob':
        case 'binary':
          return 'blob'
        default:
          return 'text'
      }
    case 'postgres':
      switch (type) {
        case 'auto-pk-int':
          return 'bigint generated by default as identity'
        case 'int':
          return 'bigint'
        case 'boolean':
          return 'boolean'
        case 'float':
        case 'timestamp':
          return 'double precision'
        case 'datetime':
          return 'timestamp(3) with time zone'
        case 'blob':
        case 'binary':
          return 'bytea'
        default:
          return 'text'
      }
    case 'mysql':
      switch (type) {
        case 'auto-pk-int':
          return 'bigint auto_increment'
        case 'int':
          return 'bigint'
        case 'boolean':
          return 'tinyint(1)'
        case 'float':
        case 'timestamp':
          return 'double'
        case 'datetime':
          return 'datetime(3)'
        case 'blob':
        case 'binary':
          return 'longblob'
        case 'json':
        case 'text':
          return column.indexed ? 'varchar(255)' : 'longtext'
        default:
          return column.indexed ? 'varchar(255)' : 'text'
      }
  }
}
