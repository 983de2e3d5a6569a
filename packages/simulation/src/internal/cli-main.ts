import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runSchedule } from '../run'
import type { Schedule } from '../schedule'
import { formatFailure, replaySeed, simulate, type SimulationSummary } from '../simulate'

const HELP = `storex-sync-sim: random schedules of syncing devices with faults, checked for convergence.

  storex-sync-sim [--count N] [--first-seed S]   run N schedules (default 100 from seed 1)
  storex-sync-sim --seed N                       replay one seed, step by step (and shrink it if it fails)
  storex-sync-sim --schedule failure.json        replay a saved (minimal) schedule
  storex-sync-sim --soak [--count N]             run many (default 10000), print progress, write a summary

Options:
  --devices K | --devices MIN-MAX   devices per schedule (default 3, at most 20)
  --max-steps N                     steps per schedule (default 40)
  --faults a,b                      fault kinds to inject (failBefore, failAfter, duplicate, abort,
                                    writeDuring, reconcilerThrows, localBatchDuring; default all)
  --no-shrink                       report failures without shrinking them
  --keep-going                      do not stop at the first failure
  --out DIR                         where the soak summary and failure files go (default .)
  --progress-every N                soak progress line every N schedules (default 100)`

function parseDevices(text: string | undefined): number | [number, number] | undefined {
  if (!text) return undefined
  const match = /^(\d+)(?:-(\d+))?$/.exec(text)
  if (!match) throw new Error(`--devices takes K or MIN-MAX, got ${text}`)
  const min = Number(match[1])
  const max = Number(match[2] ?? match[1])
  if (min < 1 || max > 20 || min > max) throw new Error('--devices must be between 1 and 20')
  return match[2] ? [min, max] : min
}

export function summaryMarkdown(summary: SimulationSummary, options: Record<string, unknown>): string {
  return [
    '# storex-sync simulation summary',
    '',
    `| | |`,
    `|---|---|`,
    `| schedules | ${summary.count} (seeds ${summary.firstSeed}–${summary.firstSeed + summary.count - 1}) |`,
    `| passed | ${summary.passed} |`,
    `| failed | ${summary.failures.length} |`,
    `| steps | ${summary.steps} |`,
    `| syncs | ${summary.syncs} |`,
    `| faults fired | ${summary.faultsFired} |`,
    `| log entries (final, per device) | ${summary.entries} |`,
    `| entries quarantined (events) | ${summary.quarantined} |`,
    `| own entries set aside, refused by the shared log (events) | ${summary.outgoingQuarantined} |`,
    `| set-aside entries settled by a later delete (events) | ${summary.outgoingSettled} |`,
    `| per-object integration failures (events) | ${summary.integrationFailures} |`,
    `| bootstraps from the replica's snapshot: new devices / retired devices back | ${summary.bootstraps.fresh} / ${summary.bootstraps.merge} |`,
    `| compactions: runs / devices retired / log entries deleted | ${summary.compactions.runs} / ${summary.compactions.retiredDevices} / ${summary.compactions.deletedEntries} |`,
    `| time | ${(summary.durationMs / 1000).toFixed(1)} s, ${summary.msPerSchedule} ms per schedule |`,
    `| options | ${JSON.stringify(options)} |`,
    '',
    ...(summary.failures.length
      ? ['## Failures', '', ...summary.failures.map((failure) => '```\n' + formatFailure(failure) + '\n```')]
      : ['No invariant was broken.']),
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      schedule: { type: 'string' },
      count: { type: 'string' },
      'first-seed': { type: 'string' },
      soak: { type: 'boolean', default: false },
      devices: { type: 'string' },
      'max-steps': { type: 'string' },
      'no-shrink': { type: 'boolean', default: false },
      'keep-going': { type: 'boolean', default: false },
      out: { type: 'string' },
      'progress-every': { type: 'string' },
      faults: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  })
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const generation = {
    devices: parseDevices(values.devices),
    maxSteps: values['max-steps'] ? Number(values['max-steps']) : undefined,
    shrink: !values['no-shrink'],
    faultKinds: values.faults ? (values.faults.split(',') as any) : undefined,
  }
  // Under `pnpm sim` the script runs in the package folder; paths are meant from where pnpm was called.
  const base = process.env['INIT_CWD'] ?? process.cwd()
  const outDir = resolve(base, values.out ?? '.')

  if (values.schedule) {
    const file = JSON.parse(readFileSync(resolve(base, values.schedule), 'utf8'))
    const schedule: Schedule = file.minimalSchedule ?? file.schedule ?? file
    const report = await runSchedule(schedule, { trace: (line) => console.log(line) })
    console.log(JSON.stringify(report.stats))
    if (report.violations.length) {
      console.log(`FAILED:\n${report.violations.map((line) => `  - ${line}`).join('\n')}`)
      return 1
    }
    console.log('passed: every invariant holds')
    return 0
  }

  if (values.seed !== undefined) {
    const seed = Number(values.seed)
    console.log(`Replaying seed ${seed}`)
    const { report, failure } = await replaySeed(seed, { ...generation, trace: (line) => console.log(line) })
    console.log(JSON.stringify(report.stats))
    if (failure) {
      console.log(formatFailure(failure))
      const file = writeFailure(outDir, failure)
      console.log(`Saved to ${file}; replay the minimal schedule with: pnpm sim --schedule ${file}`)
      return 1
    }
    console.log('passed: every invariant holds')
    return 0
  }

  const count = Number(values.count ?? (values.soak ? 10_000 : 100))
  const firstSeed = Number(values['first-seed'] ?? 1)
  const progressEvery = Number(values['progress-every'] ?? (values.soak ? 100 : 10))
  const started = Date.now()
  console.log(`Running ${count} schedules from seed ${firstSeed}${values.soak ? ' (soak)' : ''}`)
  const summary = await simulate({
    ...generation,
    count,
    firstSeed,
    stopOnFailure: !values['keep-going'],
    onProgress: ({ done, seed, failures, report }) => {
      if (report.violations.length) {
        console.log(`seed ${seed} FAILED (shrinking done); see the summary`)
      }
      if (done % progressEvery === 0 || done === count) {
        const seconds = (Date.now() - started) / 1000
        console.log(`${done}/${count} schedules, ${failures} failed, ${seconds.toFixed(0)} s, ${Math.round((seconds * 1000) / done)} ms/schedule`)
      }
    },
  })
  for (const failure of summary.failures) {
    console.log(formatFailure(failure))
    console.log(`Saved to ${writeFailure(outDir, failure)}`)
  }
  if (values.soak) {
    mkdirSync(outDir, { recursive: true })
    const options = { count, firstSeed, ...generation }
    writeFileSync(resolve(outDir, 'simulation-summary.json'), JSON.stringify({ ...summary, options }, null, 2))
    writeFileSync(resolve(outDir, 'simulation-summary.md'), summaryMarkdown(summary, options))
    console.log(`Summary written to ${resolve(outDir, 'simulation-summary.md')} and .json`)
  }
  console.log(
    `${summary.passed}/${summary.count} schedules passed, ${summary.failures.length} failed, ${summary.steps} steps, ${summary.syncs} syncs, ${summary.faultsFired} faults fired, ${summary.msPerSchedule} ms per schedule`,
  )
  return summary.failures.length ? 1 : 0
}

function writeFailure(outDir: string, failure: { seed: number }): string {
  const file = resolve(outDir, `simulation-failure-seed-${failure.seed}.json`)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(failure, null, 2))
  return file
}
