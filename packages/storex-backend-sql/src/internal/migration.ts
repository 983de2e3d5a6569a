import { StorexBackendSqlError } from '../errors'
import type { Dialect, DialectName } from './dialect'
import type { StatementRunner } from './runner'
import { columnType } from './schema'
import type { CollectionInfo, IndexInfo } from './schema'

const LIST_INDICES: Record<DialectName, string> = {
  sqlite: `SELECT name FROM sqlite_master WHERE type = 'index'`,
  postgres: `SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()`,
  mysql: `SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()`,
}

/**
 * Creates the tables, columns and indices of `collections` the database
 * lacks; never drops or changes existing ones. `schema`: PostgreSQL's schema
 * of the tables (tables of other schemas are not looked at).
 */
export async function createMissingSchema(
  runner: StatementRunner,
  dialect: Dialect,
  collections: Map<string, CollectionInfo>,
  schema: string | undefined,
): Promise<void> {
  try {
    const tables = await runner.kysely.introspection.getTables()
    const existing = new Map<string, Set<string>>()
    for (const table of tables) {
      if (schema && table.schema !== schema) continue
      existing.set(table.name, new Set(table.columns.map((column) => column.name)))
    }
    const existingIndices = await listIndices(runner, dialect)
    for (const info of collections.values()) {
      const columns = existing.get(info.table)
      if (!columns) {
        await runner.ddl(createTableSql(dialect, info))
      } else {
        for (const column of info.columns) {
          if (!columns.has(column.column)) {
            await runner.ddl(`ALTER TABLE ${dialect.quote(info.table)} ADD COLUMN ${dialect.quote(column.column)} ${columnType(column, dialect)}`)
          }
        }
      }
      for (const index of info.indices) {
        if (!existingIndices.has(index.name)) await runner.ddl(createIndexSql(dialect, info, index))
      }
    }
  } catch (error) {
    if (error instanceof StorexBackendSqlError) throw error
    throw new StorexBackendSqlError(
      'MIGRATION_FAILED',
      `creating the tables and indices the registry declares failed (${(error as Error).message}); check that the database user may create tables`,
      { cause: error },
    )
  }
}

/** The names of the indices in the database (of the current schema). */
export async function listIndices(runner: StatementRunner, dialect: Dialect): Promise<Set<string>> {
  const rows = await runner.selectRows(LIST_INDICES[dialect.name])
  return new Set(rows.map((row) => row.name ?? row.NAME))
}

function createTableSql(dialect: Dialect, info: CollectionInfo): string {
  const q = dialect.quote
  const singlePk = info.pkColumns.length === 1 ? info.pkColumns[0] : null
  const definitions = info.columns.map((column) => {
    let definition = `${q(column.column)} ${columnType(column, dialect)}`
    if (column === singlePk) {
      definition += ' PRIMARY KEY'
      if (column.generated && dialect.name === 'sqlite') definition += ' AUTOINCREMENT'
    } else if (column.isPk) {
      definition += ' NOT NULL'
    }
    return definition
  })
  if (info.pkColumns.length > 1) {
    definitions.push(`PRIMARY KEY (${info.pkColumns.map((column) => q(column.column)).join(', ')})`)
  }
  const suffix = dialect.name === 'mysql' ? ' DEFAULT CHARSET=utf8mb4' : ''
  return `CREATE TABLE IF NOT EXISTS ${q(info.table)} (${definitions.join(', ')})${suffix}`
}

function createIndexSql(dialect: Dialect, info: CollectionInfo, index: IndexInfo): string {
  const columnList = index.columns.map((column) => dialect.quote(column)).join(', ')
  // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has); the existing indices were listed above.
  const ifNotExists = dialect.name === 'mysql' ? '' : 'IF NOT EXISTS '
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${ifNotExists}${dialect.quote(index.name)} ON ${dialect.quote(info.table)} (${columnList})`
}
