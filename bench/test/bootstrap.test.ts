import { describe, expect, it } from 'vitest'
import { runBootstrapBench } from '../src/bootstrap'
import { checkBootstrapTargets, renderBootstrapSection } from '../src/bootstrap-report'
import { generateHistory, historyShape } from '../src/history'
import { createProgressDisplay, renderBar } from '../src/progress'

// Issue 13's benchmark at a tiny scale (200 live objects, 2,000 entries): the
// report is well formed and the devices agree. No timing is asserted.
describe('pnpm bench: the cloud as a device (scale 0.002)', () => {
  it('joins by snapshot and by replay to the same data, and compacts to at most fields + 1 rows per live object', async () => {
    const lines: string[] = []
    const report = await runBootstrapBench({ scale: 0.002, batchSize: 100, progress: false }, (line) => lines.push(line))
    const shape = report.seed.shape
    expect(shape).toEqual({ created: 220, deleted: 20, live: 200, modifies: 1760, total: 2000, fields: 3 })
    expect(report.seed.logRows).toBe(2000)
    expect(report.seed.replica.stats.liveObjects).toBe(200)
    expect(report.seed.replica.stats.objects).toBe(220)
    expect(report.agree).toEqual({ snapshotEqualsReplay: true, snapshotEqualsExpected: true, replicaEqualsExpected: true })
    for (const device of [report.snapshot, report.replay]) {
      expect(device.data.count).toBe(200)
      expect(device.readyMs).toBeGreaterThan(0)
      expect(device.cpuMs).toBeGreaterThan(0)
      expect(device.serverMs).toBeGreaterThan(0)
      expect(device.serverMs).toBeLessThan(device.readyMs)
      expect(device.memory.maxRssBytes).toBeGreaterThan(device.memory.peakHeapUsedBytes)
      expect(device.log.maxPerLive).toBeLessThanOrEqual(shape.fields + 1)
    }
    expect(report.snapshot.sync).toMatchObject({ bootstrapObjects: 220, bootstrapEntries: report.seed.replica.stats.entries, integratedEntries: 0 })
    expect(report.replay.sync).toMatchObject({ bootstrapObjects: 0, receivedStored: 2000, integratedEntries: 2000 })
    expect(report.replay.sync.compacted).toBeGreaterThan(0)
    expect(report.snapshotSpeedup).toBeGreaterThan(0)

    const compaction = report.compaction!
    expect(compaction.agree).toBe(true)
    expect(compaction.compaction.remainingEntries).toBe(0)
    expect(compaction.serverBefore.logRows).toBe(compaction.compaction.deletedEntries)
    expect(compaction.serverBefore.logRows).toBeGreaterThan(2000)
    expect(compaction.serverAfter.liveObjects).toBe(200 + 10)
    expect(compaction.serverAfter.replicaEntries).toBeLessThanOrEqual((shape.fields + 1) * compaction.serverAfter.liveObjects + shape.deleted)
    expect(compaction.device).toMatchObject({ editedObjects: 20, liveObjects: 210 })
    expect(compaction.device.maxPerLive).toBeLessThanOrEqual(shape.fields + 1)
    expect(compaction.device.maxPerEdited).toBeLessThanOrEqual(shape.fields + 1)

    const targets = checkBootstrapTargets(report)
    expect(targets).toHaveLength(4)
    // Below scale 1 the figures are shown, not judged.
    expect(targets.every((target) => target.status === 'not measured' && target.measured.includes('scale 0.002'))).toBe(true)
    const markdown = renderBootstrapSection(report)
    expect(markdown).toContain('### 7. The cloud as a device')
    expect(markdown).toContain('| snapshot')
    expect(lines.some((line) => line.startsWith('bootstrap: snapshot ready in'))).toBe(true)
  }, 120_000)

  it('writes the history it says it writes', async () => {
    const options = { liveObjects: 50, entries: 700, sessionSize: 20 }
    let written = 0
    const writers = new Set<number>()
    let lastClock = 0
    const { shape, finalState } = await generateHistory(options, (entries) => {
      for (const entry of entries) {
        expect(entry.createdOn).toBeGreaterThan(lastClock)
        lastClock = entry.createdOn
        writers.add(entry.writer)
        expect(JSON.parse(entry.data)).toMatchObject({ collection: 'note', schemaVersion: expect.any(Number) })
      }
      written += entries.length
    })
    expect(shape).toEqual(historyShape(options))
    expect(written).toBe(700)
    expect(finalState.size).toBe(50)
    expect([...writers].sort()).toEqual([0, 1, 2])
  })

  it('shows progress as a bar on a terminal and as lines otherwise', () => {
    const payload = (done: number) => ({ phase: 'bootstrap' as const, objects: { done, total: 100 }, entries: { done: done * 4, total: 400 }, bytes: { done: done * 1000, total: 100_000 } })
    expect(renderBar(payload(50), 10, 1500)).toMatch(/^bootstrap +█████░░░░░  50% {2}50\/100 objects · 200\/400 entries · 0\.0\/0\.1 MB {2}1\.5 s$/)
    let clock = 0
    const written: string[] = []
    const plain = createProgressDisplay({ stream: { write: (chunk) => written.push(chunk), isTTY: false }, now: () => clock })
    for (let done = 5; done <= 100; done += 5) {
      clock += 100
      plain.emit('progress', payload(done))
    }
    plain.emit('stageStarted', { stage: 'share' })
    plain.finish()
    expect(written).toHaveLength(11)
    expect(written.at(-1)).toMatch(/^bootstrap: 100% 100\/100 objects/)
    const tty: string[] = []
    const bar = createProgressDisplay({ stream: { write: (chunk) => tty.push(chunk), isTTY: true, columns: 120 }, now: () => clock })
    bar.emit('progress', payload(10))
    bar.emit('progress', payload(20))
    clock += 1000
    bar.emit('progress', payload(100))
    bar.finish()
    expect(tty[0]!.startsWith('\r')).toBe(true)
    expect(tty.filter((chunk) => chunk.startsWith('\r')).length).toBe(3)
    expect(tty.at(-1)).toBe('\n')
  })
})
