/**
 * The compaction part of the issue-13 benchmark: a device that edits its
 * objects many times, then the server compacts (the in-memory log: the SQLite
 * log cannot compact on this branch) and both sides' rows are counted.
 */
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { withReplica } from '@storex-sync/replica'
import { inspectDevice, openReplica, replicaDigest, type LogRowStats } from './bootstrap-db'
import { generateHistory, type HistoryOptions, type HistoryShape } from './history'
import { createProgressDisplay } from './progress'
import { USER_ID, createOurDevice } from './setup'

export interface BootstrapCompactParams {
  role: 'compact'
  dir: string
  history: HistoryOptions
  /** Objects the editing device edits (half from the snapshot, half it creates). */
  editedObjects: number
  /** Rounds of edits, one field per object per round, a sync after each round. */
  rounds: number
  progress: boolean
}

export interface CompactResult {
  role: 'compact'
  shape: HistoryShape
  catchUpMs: number
  joinMs: number
  edits: number
  editMs: number
  syncs: number
  serverBefore: { logRows: number; replicaEntries: number; replicaObjects: number; liveObjects: number }
  compaction: { deletedEntries: number; remainingEntries: number; retiredDevices: number; ms: number }
  serverAfter: { logRows: number; replicaEntries: number; replicaObjects: number; liveObjects: number }
  device: LogRowStats & { editedObjects: number; maxPerEdited: number; meanPerEdited: number }
  agree: boolean
}

export async function runCompact(params: BootstrapCompactParams): Promise<CompactResult> {
  const log = new MemorySharedSyncLog({ autoPkType: 'string' })
  const { replica, storage: replicaStorage } = await openReplica(`${params.dir}/compact-replica.sqlite`, log)
  const server = withReplica(log, replica)
  const writers: string[] = []
  for (let index = 0; index < (params.history.writers ?? 3); index += 1) {
    writers.push(String(await log.createDeviceId({ userId: USER_ID })))
  }
  const { shape, finalState } = await generateHistory(params.history, (entries) =>
    log.writeEntries(
      entries.map((entry) => ({ createdOn: entry.createdOn, data: entry.data })),
      { userId: USER_ID, deviceId: writers[entries[0]!.writer]! },
    ),
  )
  let started = performance.now()
  await replica.catchUp(USER_ID)
  const catchUpMs = performance.now() - started

  // The editing device joins by snapshot, then edits: half of the objects it came with, half it creates.
  const file = `${params.dir}/compact-device.sqlite`
  const deviceId = String(await log.createDeviceId({ userId: USER_ID }))
  const device = await createOurDevice({ kind: 'sqlite', database: file, sharedSyncLog: server, deviceId })
  const display = params.progress ? createProgressDisplay({ label: '  editing device joins' }) : null
  started = performance.now()
  await device.sync({ events: display ?? undefined })
  display?.finish()
  const joinMs = performance.now() - started
  const fromSnapshot = [...finalState.keys()].slice(0, Math.ceil(params.editedObjects / 2))
  const created: string[] = []
  for (let index = 0; index < params.editedObjects - fromSnapshot.length; index += 1) {
    const { object } = await device.storageManager.operation('createObject', 'note', { title: `Own note ${index}`, body: 'written on the editing device', score: index })
    created.push(object.id)
  }
  const edited = [...fromSnapshot, ...created]
  const fields = ['title', 'body', 'score'] as const
  let edits = 0
  let syncs = 0
  started = performance.now()
  for (let round = 0; round < params.rounds; round += 1) {
    for (const [index, id] of edited.entries()) {
      const field = fields[(index + round) % fields.length]!
      const value = field === 'score' ? round * 10 + (index % 10) : `${field} of ${id}, edit ${round + 1}`
      await device.storageManager.operation('updateObjects', 'note', { id }, { [field]: value })
      edits += 1
    }
    await device.sync()
    syncs += 1
  }
  const editMs = performance.now() - started

  // Every device reads to the end, so compaction may drop everything the replica has integrated.
  for (const writer of writers) {
    while (true) {
      const update = await log.getUnsyncedEntries({ userId: USER_ID, deviceId: writer, batchSize: 10_000 })
      await log.markAsSeen(update, { userId: USER_ID, deviceId: writer })
      if (!update.hasMore) break
    }
  }
  await device.sync()
  syncs += 1
  const before = await replica.getStats(USER_ID)
  started = performance.now()
  const compaction = await server.compact!({ userId: USER_ID, retentionMs: 30 * 24 * 3600 * 1000 })
  const compactMs = performance.now() - started
  const serverBefore = {
    logRows: compaction.deletedEntries + compaction.remainingEntries,
    replicaEntries: before.entries,
    replicaObjects: before.objects,
    liveObjects: before.liveObjects,
  }
  const after = await replica.getStats(USER_ID)
  const replicaData = await replicaDigest(replica)
  await device.storage.cleanup()
  await replicaStorage.cleanup()
  const inspected = inspectDevice(file)
  const editedCounts = edited.map((id) => inspected.perObject.get(id) ?? 0)
  return {
    role: 'compact',
    shape,
    catchUpMs,
    joinMs,
    edits,
    editMs,
    syncs,
    serverBefore,
    compaction: {
      deletedEntries: compaction.deletedEntries,
      remainingEntries: compaction.remainingEntries,
      retiredDevices: compaction.retiredDevices.length,
      ms: compactMs,
    },
    serverAfter: { logRows: compaction.remainingEntries, replicaEntries: after.entries, replicaObjects: after.objects, liveObjects: after.liveObjects },
    device: {
      ...inspected.log,
      editedObjects: edited.length,
      maxPerEdited: Math.max(0, ...editedCounts),
      meanPerEdited: editedCounts.length ? editedCounts.reduce((a, b) => a + b, 0) / editedCounts.length : 0,
    },
    agree: replicaData.digest === inspected.data.digest && replicaData.count === inspected.data.count,
  }
}
