import pg from 'pg'

/** First key of the two-key advisory locks: the replica's per-user work (catch-up, snapshot, compaction). */
const REPLICA_LOCK_CLASS = 0x5707e6

/** Runs one task per key at a time. */
export interface UserLock {
  run<T>(userKey: string, task: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** In one process, the replica's own per-user lock suffices. */
export const noUserLock: UserLock = {
  run: (_userKey, task) => task(),
  close: async () => {},
}

/**
 * A per-user lock across every server process on one PostgreSQL database
 * (`pg_advisory_xact_lock(class, hashtext(user))`), held in a transaction on a
 * small pool of its own, so that waiting for it never takes a connection the
 * log's requests need. The replica reads, integrates and marks as seen one
 * user's entries as one unit: two processes integrating the same user at once
 * could each write an object's history without the other's entries.
 */
export class PostgresUserLock implements UserLock {
  private readonly pool: InstanceType<typeof pg.Pool>

  constructor(options: { connectionString: string; poolSize?: number; onConnectionError?: (error: Error) => void }) {
    const onError = options.onConnectionError ?? (() => {})
    // No connection timeout: a task waits for a lock connection as long as the tasks ahead of it run.
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 4, connectionTimeoutMillis: 0, application_name: 'storex-sync-server (replica lock)' })
    this.pool.on('error', onError)
    this.pool.on('connect', (client) => client.on('error', onError))
  }

  async run<T>(userKey: string, task: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    let broken = false
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [REPLICA_LOCK_CLASS, userKey])
      return await task()
    } finally {
      // The transaction only holds the lock: ending it releases the lock, whatever the task did.
      await client.query('ROLLBACK').catch(() => {
        broken = true
      })
      client.release(broken)
    }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}
