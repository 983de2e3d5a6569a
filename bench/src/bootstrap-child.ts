/**
 * The processes of the issue-13 benchmark (the cloud as a device), each run
 * as `node <bundle> <params.json> <result.json>`:
 * - `seed` writes the history into the shared log (an SQLite file) and lets
 *   the replica (another SQLite file) integrate it;
 * - `join` is a new device that syncs for the first time, by snapshot or by
 *   replaying the log, in a process of its own so its peak memory is its own;
 * - `compact` runs a device that edits its objects many times, then
 *   compacts the server's log (the in-memory log: the SQLite log cannot
 *   compact on this branch) and counts what the server and the device keep.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { MemorySharedSyncLog, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { SyncReplica, withReplica } from '@storex-sync/replica'
import { generateHistory, notesDigest, type HistoryOptions, type HistoryShape } from './history'
import { MemorySampler } from './memory'
import { createProgressDisplay } from './progress'
import { USER_ID, createOurDevice, createSqliteStorage, openOurSharedLog, type TestStorage } from './setup'

export interface BootstrapSeedParams {
  role: 'seed'
  dir: string
  history: HistoryOptions
}

export interface BootstrapJoinParams {
  role: 'join'
  dir: string
  mode: 'snapshot' | 'replay'
  deviceId: string
  batchSize: number
  snapshotPageSize?: number
  progress: boolean
}

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

export type BootstrapChildParams = BootstrapSeedParams | BootstrapJoinParams | BootstrapCompactParams

export interface DigestResult {
  count: number
  digest: string
}

export interface SeedResult {
  role: 'seed'
  shape: HistoryShape
  writeMs: number
  catchUpMs: number
  expected: DigestResult
  replica: DigestResult & { stats: { objects: number; liveObjects: number; entries: number; bytes: number } }
  logRows: number
  logFileBytes: number
  replicaFileBytes: number
  deviceIds: { snapshot: string; replay: string }
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

export interface JoinResult {
  role: 'join'
  mode: 'snapshot' | 'replay'
  readyMs: number
  /** CPU time of the process (user + system) during the sync: steadier than wall time on a shared machine. */
  cpuMs: number
  stages: Record<string, number>
  sync: { bootstrapObjects: number; bootstrapEntries: number; receivedStored: number; integratedObjects: number; integratedEntries: number; compacted: number }
  memory: { baselineRssBytes: number; peakRssBytes: number; peakHeapUsedBytes: number; maxRssBytes: number }
  data: DigestResult
  log: LogRowStats
  databaseBytes: number
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

async function openReplica(database: string, sharedSyncLog: SharedSyncLog): Promise<{ replica: SyncReplica; storage: TestStorage }> {
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

async function replicaDigest(replica: SyncReplica): Promise<DigestResult> {
  const rows: Array<{ id: string; title: unknown; body: unknown; score: unknown }> = []
  let cursor: string | null = null
  do {
    const page: Awaited<ReturnType<SyncReplica['getObjects']>> = await replica.getObjects({ userId: USER_ID, collection: 'note', cursor, limit: 5000 })
    for (const item of page.objects) rows.push({ id: String(item.pk), title: item.object['title'], body: item.object['body'], score: item.object['score'] })
    cursor = page.cursor
  } while (cursor)
  return notesDigest(rows)
}

function expectedDigest(finalState: Map<string, Record<string, unknown>>): DigestResult {
  return notesDigest([...finalState].map(([id, value]) => ({ id, title: value['title'], body: value['body'], score: value['score'] })))
}

/** The device's notes and its client log's rows per object, read from its SQLite file once it is closed. */
function inspectDevice(file: string): { data: DigestResult; log: LogRowStats; perObject: Map<string, number> } {
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

async function runSeed(params: BootstrapSeedParams): Promise<SeedResult> {
  const { sharedSyncLog, storage: logStorage } = await openOurSharedLog(`${params.dir}/shared.sqlite`)
  const { replica, storage: replicaStorage } = await openReplica(`${params.dir}/replica.sqlite`, sharedSyncLog)
  const writers: string[] = []
  for (let index = 0; index < (params.history.writers ?? 3); index += 1) {
    writers.push(String(await sharedSyncLog.createDeviceId({ userId: USER_ID })))
  }
  let started = performance.now()
  let written = 0
  const { shape, finalState } = await generateHistory(params.history, async (entries) => {
    await sharedSyncLog.writeEntries(
      entries.map((entry) => ({ createdOn: entry.createdOn, data: entry.data })),
      { userId: USER_ID, deviceId: writers[entries[0]!.writer]! },
    )
    written += entries.length
    if (written % 100_000 < entries.length) console.log(`  seed: ${written.toLocaleString('en-US')} entries written`)
  })
  const writeMs = performance.now() - started
  started = performance.now()
  await replica.catchUp(USER_ID)
  const catchUpMs = performance.now() - started
  const stats = await replica.getStats(USER_ID)
  const deviceIds = {
    snapshot: String(await sharedSyncLog.createDeviceId({ userId: USER_ID })),
    replay: String(await sharedSyncLog.createDeviceId({ userId: USER_ID })),
  }
  const logRows = Number(await logStorage.storageManager.operation('countObjects', 'sharedSyncLogEntry', {}))
  const result: SeedResult = {
    role: 'seed',
    shape,
    writeMs,
    catchUpMs,
    expected: expectedDigest(finalState),
    replica: { ...(await replicaDigest(replica)), stats },
    logRows,
    logFileBytes: 0,
    replicaFileBytes: 0,
    deviceIds,
  }
  await replicaStorage.cleanup()
  await logStorage.cleanup()
  result.logFileBytes = statSync(`${params.dir}/shared.sqlite`).size
  result.replicaFileBytes = statSync(`${params.dir}/replica.sqlite`).size
  return result
}

async function runJoin(params: BootstrapJoinParams): Promise<JoinResult> {
  const { sharedSyncLog, storage: logStorage } = await openOurSharedLog(`${params.dir}/shared.sqlite`)
  const { replica, storage: replicaStorage } = await openReplica(`${params.dir}/replica.sqlite`, sharedSyncLog)
  const file = `${params.dir}/join-${params.mode}.sqlite`
  const device = await createOurDevice({ kind: 'sqlite', database: file, sharedSyncLog: withReplica(sharedSyncLog, replica), deviceId: params.deviceId })
  const display = params.progress ? createProgressDisplay({ label: `  ${params.mode}` }) : null
  const stages: Record<string, number> = {}
  let stageStarted = 0
  global.gc?.()
  const baseline = process.memoryUsage()
  const sampler = new MemorySampler().start()
  const events = {
    emit(name: string, payload: any) {
      sampler.sample()
      display?.emit(name, payload)
      if (name === 'stageStarted') stageStarted = performance.now()
      if (name === 'stageFinished') stages[payload.stage] = (stages[payload.stage] ?? 0) + performance.now() - stageStarted
    },
  }
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const result = await device.sync({
    bootstrap: params.mode,
    batchSize: params.batchSize,
    ...(params.snapshotPageSize ? { snapshotPageSize: params.snapshotPageSize } : {}),
    events,
  })
  const readyMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const memory = sampler.stop()
  display?.finish()
  await device.storage.cleanup()
  await replicaStorage.cleanup()
  await logStorage.cleanup()
  const inspected = inspectDevice(file)
  return {
    role: 'join',
    mode: params.mode,
    readyMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    stages,
    sync: {
      bootstrapObjects: result.bootstrap.objects,
      bootstrapEntries: result.bootstrap.entries,
      receivedStored: result.received.stored,
      integratedObjects: result.integrated.objects,
      integratedEntries: result.integrated.entries,
      compacted: result.compacted.entries,
    },
    memory: { baselineRssBytes: baseline.rss, peakRssBytes: memory.peakRssBytes, peakHeapUsedBytes: memory.peakHeapUsedBytes, maxRssBytes: memory.maxRssBytes },
    data: inspected.data,
    log: inspected.log,
    databaseBytes: statSync(file).size,
  }
}

async function runCompact(params: BootstrapCompactParams): Promise<CompactResult> {
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

const [paramsPath, resultPath] = process.argv.slice(2)
if (paramsPath && resultPath) {
  const params = JSON.parse(readFileSync(paramsPath, 'utf8')) as BootstrapChildParams
  const run = params.role === 'seed' ? runSeed(params) : params.role === 'join' ? runJoin(params) : runCompact(params)
  run.then(
    (result) => {
      writeFileSync(resultPath, JSON.stringify(result))
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
