import type { CollectionInfo, ColumnInfo } from './schema'

/** The value the driver binds for a field: null for null and undefined, else the column's conversion of it. */
export function encodeValue(column: ColumnInfo, value: unknown): unknown {
  return value === undefined || value === null ? null : column.toDb ? column.toDb(value) : value
}

/** Turns rows as the driver returns them into Storex objects (in place); with `fields`, only those keys. */
export function decodeRows(info: CollectionInfo, rows: any[], fields?: string[]): any[] {
  const converters = info.readConverters
  if (converters.length) {
    for (const row of rows) {
      for (const column of converters) {
        row[column.key] = column.fromDb!(row[column.key])
      }
    }
  }
  if (fields?.length) {
    return rows.map((row) => {
      const picked: any = {}
      for (const field of fields) picked[field] = row[field]
      return picked
    })
  }
  return rows
}

/** What createObject returns: every field and relationship, null where omitted. */
export function resultObject(info: CollectionInfo, object: any): any {
  const result: any = {}
  for (const column of info.columns) {
    const value = object[column.key]
    result[column.key] = value === undefined ? null : value
  }
  return result
}

/** Storex's custom field types: creates prepare every custom field (also absent ones), updates only those given. */
export async function prepareForStorage(info: CollectionInfo, object: any, all = false): Promise<any> {
  const prepared = { ...object }
  for (const column of info.customColumns) {
    if (all || column.key in prepared) {
      prepared[column.key] = await column.fieldObject!.prepareForStorage(prepared[column.key])
    }
  }
  return prepared
}

export async function prepareFromStorage(info: CollectionInfo, objects: any[]): Promise<void> {
  for (const object of objects) {
    for (const column of info.customColumns) {
      if (object[column.key] !== undefined && object[column.key] !== null) {
        object[column.key] = await column.fieldObject!.prepareFromStorage(object[column.key])
      }
    }
  }
}
