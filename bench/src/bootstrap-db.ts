/** The databases of the issue-13 benchmark's processes: opening the replica, writing the log's rows, reading what a device holds. */
import Database from 'better-sqlite3'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { entryIdentityKey, randomStringId } from '@storex-sync/shared-sync-log-core/implement'
import { SyncReplica } from '@storex-sync/replica'
import { notesDigest } from './history'
import { USER_ID, createSqliteStorage, type TestStorage } from './setup'

export interface DigestResult {
  count: number
  digest: string
}

/** Rows of one device's client log per object. */
export interface LogRowStats {
  rows: number
  liveObjects: number
  /** Over live objects. */
  maxPerLive: number
  meanPerLive: number
  /** Rows of deleted objects (their tombstones). */
  deletedObjectRows: number
}

export async function openReplica(database: string, sharedSyncLog: SharedSyncLog): Promise<{ replica: SyncReplica; storage: TestStorage }> {
  let replica!: SyncReplica
  const storage = await createSqliteStorage({
    database,
    autoPkType: 'string',
    setup(storageManager) {
      replica = new SyncReplica({ storageManager, sharedSyncLog })
      registerModuleMapCollections(storageManager.registry, { replica })
    },
  })
  return { replica, storage }
}

export async function replicaDigest(replica: SyncReplica): Promise<DigestResult> {
  const rows: Array<{ id: string; title: unknown; body: unknown; score: unknown }> = []
  let cursor: string | null = null
  do {
    const page: Awaited<ReturnType<SyncReplica['getObjects']>> = await replica.getObjects({ userId: USER_ID, collection: 'note', cursor, limit: 5000 })
    for (const item of page.objects) rows.push({ id: String(item.pk), title: item.object['title'], body: item.object['body'], score: item.object['score'] })
    cursor = page.cursor
  } while (cursor)
  return notesDigest(rows)
}

export function expectedDigest(finalState: Map<string, Record<string, unknown>>): DigestResult {
  return notesDigest([...finalState].map(([id, value]) => ({ id, title: value['title'], body: value['body'], score: value['score'] })))
}

/** The device's notes and its client log's rows per object, read from its SQLite file once it is closed. */
export function inspectDevice(file: string): { data: DigestResult; log: LogRowStats; perObject: Map<string, number> } {
  const db = new Database(file, { readonly: true })
  try {
    const notes = db.prepare('SELECT id, title, body, score FROM note').all() as Array<{ id: string; title: string; body: string; score: number }>
    const live = new Set(notes.map((note) => note.id))
    const perObject = new Map<string, number>()
    let deletedObjectRows = 0
    let rows = 0
    for (const row of db.prepare('SELECT pk, count(*) AS n FROM clientSyncLogEntry GROUP BY objectKey').iterate() as Iterable<{ pk: string; n: number }>) {
      const pk = JSON.parse(row.pk) as string
      rows += row.n
      if (live.has(pk)) perObject.set(pk, row.n)
      else deletedObjectRows += row.n
    }
    let max = 0
    let sum = 0
    for (const id of live) {
      const n = perObject.get(id) ?? 0
      max = Math.max(max, n)
      sum += n
    }
    return {
      data: notesDigest(notes),
      log: { rows, liveObjects: live.size, maxPerLive: max, meanPerLive: live.size ? sum / live.size : 0, deletedObjectRows },
      perObject,
    }
  } finally {
    db.close()
  }
}

/**
 * Rows of `sharedSyncLogEntry` exactly as SharedSyncLogStorage.writeEntries stores them (its
 * key functions, gapless sequences), inserted in transactions of 10,000: a million writeEntries
 * calls' worth of duplicate checks takes some 20 minutes here and measures nothing of interest.
 */
export function insertLogRows(file: string, rows: Array<{ deviceId: string; createdOn: number; sharedOn: number; sequence: number; data: string }>): void {
  const db = new Database(file)
  try {
    const insert = db.prepare(
      'INSERT INTO sharedSyncLogEntry ("userId", "deviceId", "createdOn", "sharedOn", "sequence", "data", "extraSentInfo", "entryKey", "id") VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)',
    )
    db.transaction(() => {
      for (const row of rows) {
        insert.run(USER_ID, row.deviceId, row.createdOn, row.sharedOn, row.sequence, row.data, entryIdentityKey(USER_ID, row.deviceId, row.createdOn), randomStringId())
      }
    })()
  } finally {
    db.close()
  }
}

/**
 * SharedSyncLogStorage reads a device's last own entry after its cursor
 * (`userId = ? AND deviceId = ? AND sequence > ? ORDER BY sequence DESC
 * LIMIT 1`) through its (userId, sequence) index: for a device with no own
 * entries that walks every entry after the cursor, so reading a log of a
 * million entries in pages of 1,000 is quadratic (0.9 s per page at the
 * start). The benchmark adds the index the query needs, so that it measures
 * the devices rather than that query (reported to the package's owner).
 */
export function addMissingLogIndex(file: string): void {
  const db = new Database(file)
  try {
    db.exec('CREATE INDEX IF NOT EXISTS "bench_ix_sharedSyncLogEntry_userId_deviceId_sequence" ON "sharedSyncLogEntry" ("userId", "deviceId", "sequence")')
  } finally {
    db.close()
  }
}
