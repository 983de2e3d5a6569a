import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { openPostgresBackend } from '../src/index'
import { findPostgres } from './servers'

const postgres = await findPostgres()

describe.skipIf(!('url' in postgres))('openPostgresBackend when the server ends idle connections', () => {
  it('reports the ended connection instead of crashing the process, and the next query works', async () => {
    const url = (postgres as { url: string }).url
    const reported: Error[] = []
    const application = `storex-sync-test-${process.pid}-${Date.now()}`
    const connectionString = `${url}${url.includes('?') ? '&' : '?'}application_name=${application}`
    const backend = await openPostgresBackend({ connectionString, idleTimeoutMillis: 0, onConnectionError: (error) => reported.push(error) })
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      // One pooled connection, idle after this query.
      expect((await backend.kysely.selectNoFrom((eb) => eb.val(1).as('one')).execute())[0]).toEqual({ one: '1' })
      // An administrator (or a restart) ends it: without a listener on the pool, pg throws this as an uncaught exception.
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [application])
      await expect.poll(() => reported.length, { timeout: 5_000 }).toBe(1)
      expect(reported[0]!.message).toMatch(/terminat/)
      expect((await backend.kysely.selectNoFrom((eb) => eb.val(2).as('two')).execute())[0]).toEqual({ two: '2' })
    } finally {
      await admin.end()
      await backend.close()
    }
  })
})
