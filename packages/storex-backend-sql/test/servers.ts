// Finds the PostgreSQL and MariaDB/MySQL servers tests run against, and makes
// throwaway schemas/databases on them. Outside CI a server that does not
// answer skips its tests with a printed reason; with CI=true it fails.
import pg from 'pg'
import mysql from 'mysql2/promise'
import { SqlStorageBackend } from '../src/index'
import type { AutoPkType } from '../src/index'

export const POSTGRES_URL_VARIABLE = 'STOREX_SYNC_TEST_POSTGRES_URL'
export const MYSQL_URL_VARIABLE = 'STOREX_SYNC_TEST_MYSQL_URL'

let counter = 0
export function uniqueName(prefix: string) {
  counter += 1
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`.toLowerCase()
}

async function probe(kind: string, variable: string, fallback: string, check: (url: string) => Promise<void>) {
  const url = process.env[variable] ?? fallback
  try {
    await check(url)
    return { url }
  } catch (error) {
    if (process.env[variable] || process.env.CI) {
      throw new Error(`${kind} at ${url} does not answer (${(error as Error).message}); start it or fix ${variable}`)
    }
    const skipReason = `no ${kind} server at ${url} (${(error as Error).message}); set ${variable} to run these tests`
    console.warn(`skipping ${kind} tests: ${skipReason}`)
    return { skipReason }
  }
}

export function findPostgres() {
  return probe('PostgreSQL', POSTGRES_URL_VARIABLE, 'postgres://postgres@127.0.0.1:5432/postgres', async (url) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.query('select 1')
    } finally {
      await client.end().catch(() => {})
    }
  })
}

export function findMysql() {
  return probe('MariaDB/MySQL', MYSQL_URL_VARIABLE, 'mysql://root@127.0.0.1:3306/test', async (url) => {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 2000 })
    try {
      await connection.query('select 1')
    } finally {
      await connection.end().catch(() => {})
    }
  })
}

/** A backend on a fresh schema (PostgreSQL) or database (MySQL), or in memory (SQLite). */
export async function createFreshBackend(
  kind: 'sqlite' | 'postgres' | 'mysql',
  serverUrl: string | undefined,
  autoPkType: AutoPkType = 'int',
): Promise<{ backend: SqlStorageBackend; cleanup(): Promise<void> }> {
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3')
    const backend = new SqlStorageBackend({ connection: { dialect: 'sqlite', database: new Database(':memory:') }, autoPkType })
    return { backend, cleanup: () => backend.close() }
  }
  if (kind === 'postgres') {
    const schema = uniqueName('t')
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    await admin.query(`CREATE SCHEMA "${schema}"`)
    await admin.end()
    const pool = new pg.Pool({ connectionString: serverUrl, max: 4, options: `-c search_path=${schema}` })
    const backend = new SqlStorageBackend({ connection: { dialect: 'postgres', pool, schema }, autoPkType })
    return {
      backend,
      async cleanup() {
        await backend.close()
        const client = new pg.Client({ connectionString: serverUrl })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await client.end()
      },
    }
  }
  const database = uniqueName('t')
  const admin = await mysql.createConnection({ uri: serverUrl })
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`)
  await admin.end()
  const url = new URL(serverUrl!)
  url.pathname = `/${database}`
  const { createPool } = await import('mysql2')
  const pool = createPool({ uri: url.toString(), connectionLimit: 4, timezone: 'Z' })
  const backend = new SqlStorageBackend({ connection: { dialect: 'mysql', pool }, autoPkType })
  return {
    backend,
    async cleanup() {
      await backend.close()
      const client = await mysql.createConnection({ uri: serverUrl })
      await client.query(`DROP DATABASE IF EXISTS \`${database}\``)
      await client.end()
    },
  }
}
