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
import { runAsChild } from './child-entry'
import { statSync } from 'node:fs'
import { hlcWallTime } from '@storex-sync/client-sync-log'
import type { SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { withReplica } from '@storex-sync/replica'
import { runCompact, type BootstrapCompactParams, type CompactResult } from './bootstrap-compact'
import { addMissingLogIndex, expectedDigest, inspectDevice, insertLogRows, openReplica, replicaDigest, type DigestResult, type LogRowStats } from './bootstrap-db'
import { generateHistory, type HistoryOptions, type HistoryShape } from './history'
import { MemorySampler } from './memory'
import { createProgressDisplay } from './progress'
import { USER_ID, createOurDevice, openOurSharedLog } from './setup'

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

export type { CompactResult, DigestResult, LogRowStats }

export type BootstrapChildParams = BootstrapSeedParams | BootstrapJoinParams | BootstrapCompactParams

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

export interface JoinResult {
  role: 'join'
  mode: 'snapshot' | 'replay'
  readyMs: number
  /** CPU time of the process (user + system) during the sync: steadier than wall time on a shared machine. */
  cpuMs: number
  /** Of readyMs, the time spent in the log's and the replica's calls (the server's side, here in the same process). */
  serverMs: number
  stages: Record<string, number>
  sync: { bootstrapObjects: number; bootstrapEntries: number; receivedStored: number; integratedObjects: number; integratedEntries: number; compacted: number }
  /** maxRssBytes: the OS high-water mark; retainedHeapUsedBytes: heapUsed after the sync and a forced GC (a leak would show here). */
  memory: { baselineRssBytes: number; peakRssBytes: number; peakHeapUsedBytes: number; maxRssBytes: number; retainedHeapUsedBytes: number }
  data: DigestResult
  log: LogRowStats
  databaseBytes: number
}


async function runSeed(params: BootstrapSeedParams): Promise<SeedResult> {
  const logFile = `${params.dir}/shared.sqlite`
  // Made by the storage module first: its tables, indices and devices.
  const opened = await openOurSharedLog(logFile)
  const writers: string[] = []
  for (let index = 0; index < (params.history.writers ?? 3); index += 1) {
    writers.push(String(await opened.sharedSyncLog.createDeviceId({ userId: USER_ID })))
  }
  await opened.storage.cleanup()
  let started = performance.now()
  let sequence = 0
  let pending: Parameters<typeof insertLogRows>[1] = []
  const { shape, finalState } = await generateHistory(params.history, (entries) => {
    const sharedOn = hlcWallTime(entries.at(-1)!.createdOn) + 1000
    for (const entry of entries) {
      pending.push({ deviceId: writers[entry.writer]!, createdOn: entry.createdOn, sharedOn, sequence: (sequence += 1), data: entry.data })
    }
    if (pending.length >= 10_000) {
      insertLogRows(logFile, pending)
  addMissingLogIndex(logFile)
      pending = []
      if (sequence % 100_000 < 1000) console.log(`  seed: ${sequence.toLocaleString('en-US')} entries written`)
    }
  })
  insertLogRows(logFile, pending)
  addMissingLogIndex(logFile)
  const { sharedSyncLog, storage: logStorage } = await openOurSharedLog(logFile)
  const { replica, storage: replicaStorage } = await openReplica(`${params.dir}/replica.sqlite`, sharedSyncLog)
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

/** The log with the time spent in its calls added up. */
function timed(log: SharedSyncLog): { log: SharedSyncLog; ms: () => number } {
  let total = 0
  const wrapped = Object.fromEntries(
    Object.entries(log).map(([name, method]) => [
      name,
      async (...args: unknown[]) => {
        const started = performance.now()
        try {
          return await (method as (...args: unknown[]) => Promise<unknown>)(...args)
        } finally {
          total += performance.now() - started
        }
      },
    ]),
  ) as unknown as SharedSyncLog
  return { log: wrapped, ms: () => total }
}

async function runJoin(params: BootstrapJoinParams): Promise<JoinResult> {
  const { sharedSyncLog, storage: logStorage } = await openOurSharedLog(`${params.dir}/shared.sqlite`)
  const { replica, storage: replicaStorage } = await openReplica(`${params.dir}/replica.sqlite`, sharedSyncLog)
  const file = `${params.dir}/join-${params.mode}.sqlite`
  const server = timed(withReplica(sharedSyncLog, replica))
  const device = await createOurDevice({ kind: 'sqlite', database: file, sharedSyncLog: server.log, deviceId: params.deviceId })
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
  global.gc?.()
  const retainedHeapUsedBytes = process.memoryUsage().heapUsed
  await device.storage.cleanup()
  await replicaStorage.cleanup()
  await logStorage.cleanup()
  const inspected = inspectDevice(file)
  return {
    role: 'join',
    mode: params.mode,
    readyMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    serverMs: server.ms(),
    stages,
    sync: {
      bootstrapObjects: result.bootstrap.objects,
      bootstrapEntries: result.bootstrap.entries,
      receivedStored: result.received.stored,
      integratedObjects: result.integrated.objects,
      integratedEntries: result.integrated.entries,
      compacted: result.compacted.entries,
    },
    memory: {
      baselineRssBytes: baseline.rss,
      peakRssBytes: memory.peakRssBytes,
      peakHeapUsedBytes: memory.peakHeapUsedBytes,
      maxRssBytes: memory.maxRssBytes,
      retainedHeapUsedBytes,
    },
    data: inspected.data,
    log: inspected.log,
    databaseBytes: statSync(file).size,
  }
}

runAsChild<BootstrapChildParams, unknown>((params) =>
  params.role === 'seed' ? runSeed(params) : params.role === 'join' ? runJoin(params) : runCompact(params),
)
