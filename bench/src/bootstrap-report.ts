/** Issue 13's part of the report: its targets and its Markdown section. */
import type { BootstrapReport } from './bootstrap'

export interface BootstrapTargetCheck {
  name: string
  target: string
  measured: string
  status: 'met' | 'missed' | 'not measured'
}

const MB = 1024 * 1024
const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`
const count = (value: number) => value.toLocaleString('en-US')

/**
 * The targets are stated for 100,000 live objects and 1,000,000 entries
 * (scale 1); at another scale the figures are shown but not judged.
 */
export function checkBootstrapTargets(report: BootstrapReport | null): BootstrapTargetCheck[] {
  const judged = report !== null && report.scale >= 1
  const judge = (ok: boolean) => (judged ? (ok ? 'met' : 'missed') : 'not measured') as BootstrapTargetCheck['status']
  const at = report && !judged ? ` (at scale ${report.scale}, not judged)` : ''
  const compaction = report?.compaction ?? null
  const fields = report?.seed.shape.fields ?? 3
  const serverAfter = compaction ? compaction.serverAfter : null
  const serverRowsPerLive = serverAfter ? (serverAfter.logRows + serverAfter.replicaEntries) / serverAfter.liveObjects : NaN
  return [
    {
      name: 'Issue 13: a new device joins 100k live objects / 1M entries: snapshot vs replay, time to ready',
      target: '>= 10x faster',
      measured: report ? `${fmt(report.snapshotSpeedup, 1)}x (${fmt(report.snapshot.readyMs / 1000, 1)} s vs ${fmt(report.replay.readyMs / 1000, 1)} s)${at}` : 'n/a',
      status: report ? judge(report.snapshotSpeedup >= 10 && report.agree.snapshotEqualsReplay) : 'not measured',
    },
    {
      name: "Issue 13: the snapshot device's peak memory",
      target: '< 250 MB',
      measured: report ? `${mb(report.snapshot.memory.maxRssBytes)}${at}` : 'n/a',
      status: report ? judge(report.snapshot.memory.maxRssBytes < 250 * MB) : 'not measured',
    },
    {
      name: 'Issue 13: server rows per live object after compaction (log rows + replica entries; the history has ' +
        `${report ? fmt(report.seed.shape.total / report.seed.shape.live, 0) : '10'} entries per live object)`,
      target: `proportional to live objects (<= fields + 1 = ${fields + 1})`,
      measured: compaction ? `${fmt(serverRowsPerLive)} (log ${count(compaction.serverAfter.logRows)}, replica ${count(compaction.serverAfter.replicaEntries)} entries)${at}` : 'n/a',
      status: compaction ? judge(serverRowsPerLive <= fields + 1) : 'not measured',
    },
    {
      name: "Issue 13: a device's client log after editing its objects many times, rows per live object (max / mean)",
      target: `<= fields + 1 = ${fields + 1}`,
      measured: compaction ? `${compaction.device.maxPerLive} / ${fmt(compaction.device.meanPerLive)}${at}` : 'n/a',
      status: compaction ? judge(compaction.device.maxPerLive <= fields + 1) : 'not measured',
    },
  ]
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => row[index]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(' | ')} |`
  return [line(header), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rows.map(line)].join('\n')
}

export function renderBootstrapSection(report: BootstrapReport | null): string {
  const title = '### 7. The cloud as a device (issue 13): a new device joins by snapshot or by replay; compaction'
  if (!report) return `${title}\n\nNot run (--scale=0).`
  const { seed, snapshot, replay, compaction } = report
  const shape = seed.shape
  const parts = [title]
  parts.push(
    `Scale ${report.scale}: ${count(shape.total)} entries of history (${count(shape.created)} objects created, ${count(shape.modifies)} edits of one field, ` +
      `${count(shape.deleted)} deleted; ${count(shape.live)} live objects with ${shape.fields} fields), written by 3 devices into the shared log ` +
      `(SQLite, ${mb(seed.logFileBytes)}) in ${fmt(seed.writeMs / 1000, 1)} s; the replica (SQLite, ${mb(seed.replicaFileBytes)}) integrated it in ` +
      `${fmt(seed.catchUpMs / 1000, 1)} s and keeps ${count(seed.replica.stats.entries)} entries (${fmt(seed.replica.stats.entries / seed.replica.stats.liveObjects)} per live object).`,
  )
  parts.push(
    table(
      ['joins by', 'ready s', 'of which server s', 'CPU s', 'receive s', 'integrate s', 'objects / entries received', 'entries integrated', 'log compacted', 'peak RSS', 'peak heap', 'heap after GC', 'RSS before', 'client log rows (max / mean per live object)', 'notes'],
      [snapshot, replay].map((row) => [
        row.mode,
        fmt(row.readyMs / 1000, 1),
        fmt(row.serverMs / 1000, 1),
        fmt(row.cpuMs / 1000, 1),
        fmt((row.stages['receive'] ?? 0) / 1000, 1),
        fmt((row.stages['integrate'] ?? 0) / 1000, 1),
        row.mode === 'snapshot' ? `${count(row.sync.bootstrapObjects)} / ${count(row.sync.bootstrapEntries)}` : `- / ${count(row.sync.receivedStored)}`,
        count(row.sync.integratedEntries),
        count(row.sync.compacted),
        mb(row.memory.maxRssBytes),
        mb(row.memory.peakHeapUsedBytes),
        mb(row.memory.retainedHeapUsedBytes),
        mb(row.memory.baselineRssBytes),
        `${count(row.log.rows)} (${row.log.maxPerLive} / ${fmt(row.log.meanPerLive)})`,
        count(row.data.count),
      ]),
    ),
  )
  parts.push(
    `Snapshot ${fmt(report.snapshotSpeedup, 1)}x faster than replay (wall time; ${fmt(replay.cpuMs / snapshot.cpuMs, 1)}x in CPU time; ` +
      `${fmt((replay.readyMs - replay.serverMs) / (snapshot.readyMs - snapshot.serverMs), 1)}x on the device's side alone, without the log's and replica's calls). ` +
      `Both devices hold the same notes: ${report.agree.snapshotEqualsReplay}; they equal the history's outcome: ${report.agree.snapshotEqualsExpected}; ` +
      `so does the replica: ${report.agree.replicaEqualsExpected}.`,
  )
  if (compaction) {
    const before = compaction.serverBefore
    const after = compaction.serverAfter
    parts.push(
      `Compaction (the same history in the in-memory log, which implements compact(); the replica on SQLite): a device joined by snapshot in ` +
        `${fmt(compaction.joinMs / 1000, 1)} s, then edited ${count(compaction.device.editedObjects)} objects (half its own) ${count(compaction.edits / compaction.device.editedObjects)} times each, ` +
        `one field per edit, syncing after each round (${compaction.syncs} syncs, ${fmt(compaction.editMs / 1000, 1)} s); every device read to the end; then the server compacted ` +
        `in ${fmt(compaction.compaction.ms, 0)} ms. Replica equals the device: ${compaction.agree}.`,
    )
    parts.push(
      table(
        ['', 'log rows', 'replica entries', 'replica objects (live + tombstones)', 'live objects', 'server rows per live object'],
        [
          ['before compaction', before, before.logRows + before.replicaEntries],
          ['after compaction', after, after.logRows + after.replicaEntries],
        ].map(([label, row, total]: any) => [label, count(row.logRows), count(row.replicaEntries), count(row.replicaObjects), count(row.liveObjects), fmt(total / row.liveObjects)]),
      ),
    )
    parts.push(
      `The editing device's client log: ${count(compaction.device.rows)} rows for ${count(compaction.device.liveObjects)} live objects, ` +
        `max ${compaction.device.maxPerLive}, mean ${fmt(compaction.device.meanPerLive)} per live object; on the ${count(compaction.device.editedObjects)} edited objects ` +
        `max ${compaction.device.maxPerEdited}, mean ${fmt(compaction.device.meanPerEdited)}; ${count(compaction.device.deletedObjectRows)} rows of deleted objects (tombstones).`,
    )
  }
  return parts.join('\n\n')
}
