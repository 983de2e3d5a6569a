import type { PoolClient } from 'pg'

const SCHEMA_LOCK_KEY = 0x5707e5 // pg_advisory_xact_lock key that serializes schema creation

export interface PostgresLogTables {
  users: string
  devices: string
  entries: string
}

/**
 * Creates the tables, or upgrades those of an earlier release in place: the
 * compaction columns are added with defaults (`compacted_until` 0: nothing
 * compacted; `active_at` NULL: the device's `shared_until` stands in), so
 * existing rows keep their meaning and nothing is rewritten.
 */
export async function createPostgresSchema(client: PoolClient, tables: PostgresLogTables): Promise<void> {
  const { users, devices, entries } = tables
  await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY])
  await client.query(`CREATE TABLE IF NOT EXISTS ${users} (
    user_key text PRIMARY KEY,
    last_sequence bigint NOT NULL DEFAULT 0
  )`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${devices} (
    id bigserial PRIMARY KEY,
    user_key text NOT NULL REFERENCES ${users} (user_key),
    shared_until double precision,
    seen_sequence bigint NOT NULL DEFAULT 0
  )`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${entries} (
    user_key text NOT NULL,
    sequence bigint NOT NULL,
    device_id bigint NOT NULL REFERENCES ${devices} (id),
    created_on double precision NOT NULL,
    shared_on double precision NOT NULL,
    data text NOT NULL,
    extra_sent_info text,
    PRIMARY KEY (user_key, sequence),
    UNIQUE (device_id, created_on)
  )`)
  // Added by the release with compaction.
  await client.query(`ALTER TABLE ${users} ADD COLUMN IF NOT EXISTS compacted_until bigint NOT NULL DEFAULT 0`)
  await client.query(`ALTER TABLE ${devices} ADD COLUMN IF NOT EXISTS active_at double precision`)
  // A device's own entries after a position (each read skips them; `remaining` subtracts them).
  await client.query(`CREATE INDEX IF NOT EXISTS ${entries}_device_sequence ON ${entries} (device_id, sequence)`)
}
