import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { PostgresSharedSyncLog } from '../src/index'
import { createPostgresDatabase, findPostgres } from './postgres-context'

const DAY = 24 * 60 * 60 * 1000
const postgres = await findPostgres('the PostgreSQL compaction tests')

/** The tables exactly as the release before compaction created them. */
const PREVIOUS_RELEASE_SCHEMA = (prefix: string) => `
  CREATE TABLE ${prefix}user (user_key text PRIMARY KEY, last_sequence bigint NOT NULL DEFAULT 0);
  CREATE TABLE ${prefix}device (id bigserial PRIMARY KEY, user_key text NOT NULL REFERENCES ${prefix}user (user_key),
    shared_until double precision, seen_sequence bigint NOT NULL DEFAULT 0);
  CREATE TABLE ${prefix}entry (user_key text NOT NULL, sequence bigint NOT NULL, device_id bigint NOT NULL REFERENCES ${prefix}device (id),
    created_on double precision NOT NULL, shared_on double precision NOT NULL, data text NOT NULL, extra_sent_info text,
    PRIMARY KEY (user_key, sequence), UNIQUE (device_id, created_on));
  INSERT INTO ${prefix}user VALUES ('1', 3);
  INSERT INTO ${prefix}device VALUES (1099511627776, '1', 5000, 3), (1099511627777, '1', 5000, 0), (1099511627778, '1', NULL, 0);
  INSERT INTO ${prefix}entry VALUES ('1', 1, 1099511627776, 1, 4000, 'entry 1', NULL), ('1', 2, 1099511627776, 2, 4000, 'entry 2', NULL),
    ('1', 3, 1099511627776, 3, 4000, 'entry 3', NULL);
`

if ('url' in postgres) {
  const database = await createPostgresDatabase(postgres.url)
  afterAll(() => database.drop())

  describe('PostgresSharedSyncLog compaction', () => {
    it('upgrades the tables of the previous release in place; old devices read and write on; compaction deletes rows and retires a silent old device', async () => {
      const admin = new pg.Client({ connectionString: database.url })
      await admin.connect()
      try {
        await admin.query(PREVIOUS_RELEASE_SCHEMA('old_'))
        const [a, b, stale] = [1099511627776, 1099511627777, 1099511627778]
        // Twice: the upgrade is idempotent (a restart, or two servers starting at once).
        await (await PostgresSharedSyncLog.connect({ connectionString: database.url, tablePrefix: 'old_', poolSize: 2 })).close()
        const log = await PostgresSharedSyncLog.connect({ connectionString: database.url, tablePrefix: 'old_', poolSize: 2 })
        try {
          expect(await log.getDeviceInfo({ userId: 1, deviceId: b })).toEqual({ sharedUntil: 5000 })
          const update = await log.getUnsyncedEntries({ userId: 1, deviceId: b })
          expect(update.entries.map((entry) => entry.data)).toEqual(['entry 1', 'entry 2', 'entry 3'])
          await log.markAsSeen(update, { userId: 1, deviceId: b, now: 10 * DAY })
          await log.writeEntries([{ createdOn: 4, data: 'entry 4' }], { userId: 1, deviceId: a, now: 10 * DAY })

          const result = await log.compact({ userId: 1, retentionMs: DAY, now: 10 * DAY })
          expect(result).toEqual({ deletedEntries: 3, retiredDevices: [stale], remainingEntries: 1 })
          expect((await admin.query('SELECT sequence FROM old_entry ORDER BY sequence')).rows.map((row) => Number(row.sequence))).toEqual([4])
          expect(await log.getDeviceInfo({ userId: 1, deviceId: stale })).toEqual({ sharedUntil: null, snapshotRequired: true })
          await expect(log.getUnsyncedEntries({ userId: 1, deviceId: stale })).rejects.toMatchObject({ code: 'SNAPSHOT_REQUIRED' })
          // The retired device's offline writes are accepted and delivered.
          await log.writeEntries([{ createdOn: 100, data: 'offline' }], { userId: 1, deviceId: stale, now: 10 * DAY })
          expect((await log.getUnsyncedEntries({ userId: 1, deviceId: b })).entries.map((entry) => entry.data)).toEqual(['entry 4', 'offline'])
        } finally {
          await log.close()
        }
      } finally {
        await admin.end()
      }
    })

    it('deletes a large log in chunks, and the sequence continues after it', async () => {
      const log = await PostgresSharedSyncLog.connect({ connectionString: database.url, tablePrefix: 'big_', poolSize: 2 })
      try {
        const a = await log.createDeviceId({ userId: 'u', now: 0 })
        for (let start = 0; start < 25_000; start += 5000) {
          await log.writeEntries(Array.from({ length: 5000 }, (_, index) => ({ createdOn: start + index + 1, data: 'x' })), { userId: 'u', deviceId: a, now: 0 })
        }
        await log.markAsSeen({ memo: { sequence: 25_000 } }, { userId: 'u', deviceId: a, now: 0 })
        expect(await log.compact({ userId: 'u', retentionMs: DAY, now: 0 })).toEqual({ deletedEntries: 25_000, retiredDevices: [], remainingEntries: 0 })
        const b = await log.createDeviceId({ userId: 'u', now: 0 })
        await log.writeEntries([{ createdOn: 1, data: 'after' }], { userId: 'u', deviceId: b, now: 0 })
        expect(await log.usage('u')).toMatchObject({ entries: 1 })
        await log.markAsSeen({ memo: { sequence: 25_000 } }, { userId: 'u', deviceId: a, now: 0 })
        const [entry] = (await log.getUnsyncedEntries({ userId: 'u', deviceId: a })).entries
        expect(entry?.data).toBe('after')
        expect(await log.compact({ userId: 'nobody', retentionMs: DAY })).toEqual({ deletedEntries: 0, retiredDevices: [], remainingEntries: 0 })
      } finally {
        await log.close()
      }
    })
  })
} else {
  describe('PostgresSharedSyncLog compaction', () => {
    it.skip(`skipped: ${postgres.skipReason}`, () => {})
  })
}
