// Storex's own backend suite (testStorageBackend from
// @worldbrain/storex/lib/index.tests), on SQLite, PostgreSQL and MariaDB.
import { createRequire } from 'node:module'
import { describe, it } from 'vitest'
import { createFreshBackend, findMysql, findPostgres } from './servers'

// The suite is written for mocha: it calls the global describe/it.
Object.assign(globalThis, { describe, it })
const require = createRequire(import.meta.url)
const { testStorageBackend } = require('@worldbrain/storex/lib/index.tests') as typeof import('@worldbrain/storex/lib/index.tests')

const postgres = await findPostgres()
const mysql = await findMysql()

for (const kind of ['sqlite', 'postgres', 'mysql'] as const) {
  const server = kind === 'postgres' ? postgres : kind === 'mysql' ? mysql : { url: undefined }
  const skipReason = 'skipReason' in server ? server.skipReason : undefined
  describe.skipIf(!!skipReason)(`storex backend suite on ${kind}${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
    testStorageBackend(async (context: any) => {
      const { backend, cleanup } = await createFreshBackend(kind, 'url' in server ? server.url : undefined)
      context.cleanupFunction = cleanup
      return backend as any
    })
  })
}
