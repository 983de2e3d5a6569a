/**
 * Issue 13's benchmark (the cloud as a device): a user with 100,000 live
 * objects and 1,000,000 entries of history at scale 1. A new device joins by
 * snapshot and another by replaying the log, each in a process of its own;
 * then a device edits its objects many times and the server compacts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BootstrapChildParams, CompactResult, JoinResult, SeedResult } from './bootstrap-child'
import type { HistoryOptions } from './history'
import { runBundledChild } from './spawn'

export interface BootstrapBenchOptions {
  /** 1 = 100,000 live objects and 1,000,000 entries of history. */
  scale: number
  /** Page size of the log reads (doSync's batchSize). */
  batchSize: number
  /** Show the joining devices' progress (a bar on a terminal, lines otherwise). */
  progress: boolean
  /** Skip the compaction part. */
  skipCompaction?: boolean
}

export interface BootstrapReport {
  scale: number
  history: HistoryOptions
  seed: Omit<SeedResult, 'role' | 'deviceIds'>
  snapshot: Omit<JoinResult, 'role'>
  replay: Omit<JoinResult, 'role'>
  /** Replay's time to ready over the snapshot's. */
  snapshotSpeedup: number
  agree: { snapshotEqualsReplay: boolean; snapshotEqualsExpected: boolean; replicaEqualsExpected: boolean }
  compaction: Omit<CompactResult, 'role'> | null
}

export const FULL_SCALE = { liveObjects: 100_000, entries: 1_000_000, editedObjects: 10_000, rounds: 10 }

export function historyAtScale(scale: number): HistoryOptions {
  return {
    liveObjects: Math.max(10, Math.round(FULL_SCALE.liveObjects * scale)),
    entries: Math.max(100, Math.round(FULL_SCALE.entries * scale)),
    writers: 3,
    sessionSize: 100,
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`

export async function runBootstrapBench(options: BootstrapBenchOptions, log: (line: string) => void = console.log): Promise<BootstrapReport> {
  const history = historyAtScale(options.scale)
  const dir = mkdtempSync(join(tmpdir(), 'storex-sync-bench-bootstrap-'))
  const run = <T>(params: BootstrapChildParams, describe: string) => runBundledChild<T>('bootstrap-child.ts', params, { dir, name: params.role === 'join' ? `join-${params.mode}` : params.role, describe })
  try {
    log(`bootstrap: writing ${history.entries.toLocaleString('en-US')} entries (${history.liveObjects.toLocaleString('en-US')} live objects at the end), the replica integrates them ...`)
    const { role: _seedRole, deviceIds, ...seed } = await run<SeedResult>({ role: 'seed', dir, history }, 'the seed process')
    log(
      `bootstrap: log ${seed.logRows.toLocaleString('en-US')} rows written in ${s(seed.writeMs)} (${mb(seed.logFileBytes)}); replica caught up in ${s(seed.catchUpMs)}: ` +
        `${seed.replica.stats.liveObjects.toLocaleString('en-US')} live objects, ${seed.replica.stats.entries.toLocaleString('en-US')} entries kept (${mb(seed.replicaFileBytes)})`,
    )
    const join = async (mode: 'snapshot' | 'replay') => {
      log(`bootstrap: a new device joins by ${mode} ...`)
      const { role: _role, ...result } = await run<JoinResult>(
        { role: 'join', dir, mode, deviceId: deviceIds[mode], batchSize: options.batchSize, progress: options.progress },
        `the ${mode} device`,
      )
      log(
        `bootstrap: ${mode} ready in ${s(result.readyMs)} (${Object.entries(result.stages).map(([stage, ms]) => `${stage} ${s(ms)}`).join(', ')}), ` +
          `peak RSS ${mb(result.memory.maxRssBytes)}, ${result.data.count.toLocaleString('en-US')} notes, client log ${result.log.rows.toLocaleString('en-US')} rows (max ${result.log.maxPerLive} per live object)`,
      )
      return result
    }
    const snapshot = await join('snapshot')
    const replay = await join('replay')
    const agree = {
      snapshotEqualsReplay: snapshot.data.digest === replay.data.digest && snapshot.data.count === replay.data.count,
      snapshotEqualsExpected: snapshot.data.digest === seed.expected.digest && snapshot.data.count === seed.expected.count,
      replicaEqualsExpected: seed.replica.digest === seed.expected.digest && seed.replica.count === seed.expected.count,
    }
    log(`bootstrap: snapshot ${(replay.readyMs / snapshot.readyMs).toFixed(1)}x faster than replay; devices agree: ${agree.snapshotEqualsReplay}, equal the history's outcome: ${agree.snapshotEqualsExpected}`)
    let compaction: BootstrapReport['compaction'] = null
    if (!options.skipCompaction) {
      const editedObjects = Math.max(10, Math.round(FULL_SCALE.editedObjects * options.scale))
      log(`compaction: the same history in the in-memory log, a device edits ${editedObjects.toLocaleString('en-US')} objects ${FULL_SCALE.rounds} times (a sync after each round), then the server compacts ...`)
      const { role: _role, ...result } = await run<CompactResult>(
        { role: 'compact', dir, history, editedObjects, rounds: FULL_SCALE.rounds, progress: options.progress },
        'the compaction process',
      )
      compaction = result
      log(
        `compaction: log ${result.serverBefore.logRows.toLocaleString('en-US')} -> ${result.serverAfter.logRows.toLocaleString('en-US')} rows; ` +
          `replica keeps ${(result.serverAfter.replicaEntries / result.serverAfter.liveObjects).toFixed(2)} entries per live object; ` +
          `the editing device's log: max ${result.device.maxPerLive}, mean ${result.device.meanPerLive.toFixed(2)} rows per live object`,
      )
    }
    return { scale: options.scale, history, seed, snapshot, replay, snapshotSpeedup: replay.readyMs / snapshot.readyMs, agree, compaction }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
