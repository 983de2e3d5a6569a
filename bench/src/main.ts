/**
 * `pnpm bench [--sizes=1000,10000,100000] [--compare-sizes=1000,10000] [--overhead-n=1000]
 *  [--rounds=3] [--batch-size=1000] [--reconciler-objects=20000] [--backends=sqlite,indexeddb]
 *  [--no-original] [--idb-sizes=1000,10000] [--idb-backends=ours,legacy] [--out=results/latest.json]
 *  [--scale=1] [--only=bootstrap] [--no-progress]`
 * `--scale` (or BENCH_SCALE) scales issue 13's benchmark (1 = 100k live objects, 1M entries; 0 skips it).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { defaultParameters, runBench } from './bench'
import { renderMarkdown, type BenchParameters } from './report'

function parseArgs(argv: string[]): { parameters: BenchParameters; out: string } {
  const parameters: BenchParameters = { ...defaultParameters }
  let out = 'results/latest.json'
  if (process.env['BENCH_SCALE'] !== undefined) parameters.bootstrapScale = Number(process.env['BENCH_SCALE'])
  const numbers = (value: string) => value.split(',').filter(Boolean).map(Number)
  for (const arg of argv) {
    const [key, value = ''] = arg.replace(/^--/, '').split('=') as [string, string?]
    if (key === 'sizes') parameters.sizes = numbers(value)
    else if (key === 'compare-sizes') parameters.compareSizes = numbers(value)
    else if (key === 'postgres-sizes') parameters.postgresSizes = value ? numbers(value) : []
    else if (key === 'overhead-n') parameters.overheadN = Number(value)
    else if (key === 'rounds') parameters.rounds = Number(value)
    else if (key === 'batch-size') parameters.batchSize = Number(value)
    else if (key === 'reconciler-objects') parameters.reconcilerObjects = Number(value)
    else if (key === 'backends') parameters.overheadBackends = value.split(',').filter(Boolean) as BenchParameters['overheadBackends']
    else if (key === 'no-original') parameters.original = false
    else if (key === 'idb-sizes') parameters.idbSizes = numbers(value)
    else if (key === 'idb-backends') parameters.idbBackends = value.split(',').filter(Boolean) as BenchParameters['idbBackends']
    else if (key === 'out') out = value
    else if (key === 'scale') parameters.bootstrapScale = Number(value)
    else if (key === 'no-progress') parameters.progress = false
    else if (key === 'only' && value === 'bootstrap') {
      // Issue 13's benchmark alone.
      Object.assign(parameters, { sizes: [], compareSizes: [], postgresSizes: [], overheadBackends: [], reconcilerObjects: 0, original: false, idbSizes: [] })
    } else if (key === 'only') throw new Error(`--only knows 'bootstrap' only, got ${JSON.stringify(value)}`)
    else if (key !== '') throw new Error(`unknown option ${arg}; see bench/README.md`)
  }
  if (!Number.isFinite(parameters.bootstrapScale) || parameters.bootstrapScale < 0) {
    throw new Error(`--scale must be a number >= 0 (1 = 100k live objects and 1M entries, 0 skips issue 13's benchmark), got ${parameters.bootstrapScale}`)
  }
  return { parameters, out }
}

/** `--scale 0.1` as well as `--scale=0.1`. */
function joinValues(argv: string[]): string[] {
  const joined: string[] = []
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!
    const next = argv[index + 1]
    if ((arg === '--scale' || arg === '--only' || arg === '--out') && next !== undefined && !next.startsWith('--')) {
      joined.push(`${arg}=${next}`)
      index += 1
    } else {
      joined.push(arg)
    }
  }
  return joined
}

const { parameters, out } = parseArgs(joinValues(process.argv.slice(2).filter((arg) => arg !== '--')))
const started = Date.now()
const report = await runBench(parameters, (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}`))
const jsonPath = resolve(out)
mkdirSync(dirname(jsonPath), { recursive: true })
writeFileSync(jsonPath, JSON.stringify(report, null, 2))
const markdown = renderMarkdown(report)
writeFileSync(jsonPath.replace(/\.json$/, '') + '.md', markdown)
console.log(`\n${markdown}\nWrote ${jsonPath} and ${jsonPath.replace(/\.json$/, '')}.md`)
