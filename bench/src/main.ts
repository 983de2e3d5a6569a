/**
 * `pnpm bench [--sizes=1000,10000,100000] [--compare-sizes=1000,10000] [--overhead-n=1000]
 *  [--rounds=3] [--batch-size=1000] [--reconciler-objects=20000] [--backends=sqlite,indexeddb]
 *  [--no-original] [--idb-sizes=1000,10000] [--idb-backends=ours,legacy] [--out=results/latest.json]`
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { defaultParameters, runBench } from './bench'
import { renderMarkdown, type BenchParameters } from './report'

function parseArgs(argv: string[]): { parameters: BenchParameters; out: string } {
  const parameters: BenchParameters = { ...defaultParameters }
  let out = 'results/latest.json'
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
    else if (key !== '') throw new Error(`unknown option ${arg}; see bench/README.md`)
  }
  return { parameters, out }
}

const { parameters, out } = parseArgs(process.argv.slice(2).filter((arg) => arg !== '--'))
const started = Date.now()
const report = await runBench(parameters, (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}`))
const jsonPath = resolve(out)
mkdirSync(dirname(jsonPath), { recursive: true })
writeFileSync(jsonPath, JSON.stringify(report, null, 2))
const markdown = renderMarkdown(report)
writeFileSync(jsonPath.replace(/\.json$/, '') + '.md', markdown)
console.log(`\n${markdown}\nWrote ${jsonPath} and ${jsonPath.replace(/\.json$/, '')}.md`)
