import { StorexBackendSqlError } from '../errors'
import type { Dialect } from './dialect'
import type { Gen, RunResult } from './runner'
import type { CollectionInfo, ColumnInfo } from './schema'
import { encodeValue, resultObject } from './values'

/** The columns an insert writes, and whether the database generates the pk. */
export function insertColumns(info: CollectionInfo, object: any): { columns: ColumnInfo[]; generate: boolean } {
  const generated = info.generatedPk
  if (generated && (object[generated.key] === undefined || object[generated.key] === null)) {
    return { columns: info.nonGeneratedColumns, generate: true }
  }
  for (const column of info.pkColumns) {
    const value = object[column.key]
    if (value === undefined || value === null) {
      throw new StorexBackendSqlError(
        'MISSING_PK',
        `creating an object in ${info.name} without its primary key ${column.key}; pass it, or give auto-pk collections ids with @storex-sync/custom-pk (or autoPkType: 'int')`,
      )
    }
  }
  return { columns: info.columns, generate: false }
}

function pushValues(columns: ColumnInfo[], object: any, params: unknown[]) {
  for (const column of columns) {
    params.push(encodeValue(column, object[column.key]))
  }
}

/** INSERT statements, their texts built once per collection, column set and row count (and hashed once as cache keys). */
export class Inserts {
  private readonly texts = new Map<string, string>()

  constructor(private readonly dialect: Dialect) {}

  /** Forgets the texts (after the schema changed). */
  clear(): void {
    this.texts.clear()
  }

  /** Creates one object; returns it as createObject does, with a generated pk filled in. */
  *create(info: CollectionInfo, object: any): Gen<any> {
    const { columns, generate } = insertColumns(info, object)
    const params: unknown[] = []
    pushValues(columns, object, params)
    const returning = generate ? info.generatedPk : null
    const text = this.text(info, columns, 1, returning)
    const result = resultObject(info, object)
    if (returning && this.dialect.name === 'postgres') {
      const rows: any[] = yield { sql: text, params, kind: 'all' }
      result[returning.key] = Number(rows[0][returning.column])
    } else {
      const outcome: RunResult = yield { sql: text, params, kind: 'run' }
      if (returning) result[returning.key] = outcome.insertId
    }
    return result
  }

  /** Multi-row INSERTs of objects that carry their whole pk. */
  *createMany(info: CollectionInfo, objects: any[]): Gen<void> {
    const columns = info.columns
    const chunk = this.dialect.maxRows(columns.length)
    for (let start = 0, end = 0; start < objects.length; start = end) {
      const left = objects.length - start
      // On SQLite every distinct text is a prepared statement kept in the cache, and a 700-row
      // INSERT holds some 0.6 MB: below a full chunk, rows go in power-of-two groups (673 = 512 +
      // 128 + 32 + 1), so bulk writes of varying sizes share a dozen statements instead of
      // caching one per size (a snapshot bootstrap's RSS grew by 100 MB that way).
      end = start + (left >= chunk ? chunk : this.dialect.name === 'sqlite' ? 2 ** Math.floor(Math.log2(left)) : left)
      const params: unknown[] = []
      for (let i = start; i < end; i++) {
        pushValues(columns, objects[i], params)
      }
      yield { sql: this.text(info, columns, end - start, null), params, kind: 'run' }
    }
  }

  private text(info: CollectionInfo, columns: ColumnInfo[], rowCount: number, returning: ColumnInfo | null): string {
    const key = `${info.name}\u0000${columns.length}\u0000${rowCount}\u0000${returning ? 1 : 0}`
    let text = this.texts.get(key)
    if (text === undefined) {
      text = this.build(info, columns, rowCount, returning)
      if (this.texts.size >= 1000) this.texts.clear()
      this.texts.set(key, text)
    }
    return text
  }

  private build(info: CollectionInfo, columns: ColumnInfo[], rowCount: number, returning: ColumnInfo | null): string {
    const q = this.dialect.quote
    const rows: string[] = []
    let position = 0
    for (let r = 0; r < rowCount; r++) {
      const placeholders: string[] = []
      for (let c = 0; c < columns.length; c++) {
        placeholders.push(this.dialect.placeholder(++position))
      }
      rows.push(`(${placeholders.join(', ')})`)
    }
    let text = `INSERT INTO ${q(info.table)} (${columns.map((column) => q(column.column)).join(', ')}) VALUES ${rows.join(', ')}`
    if (returning && this.dialect.name === 'postgres') {
      text += ` RETURNING ${q(returning.column)}`
    }
    return text
  }
}
