/**
 * `pnpm bench:browser [--sizes=1000,10000] [--backends=ours,legacy] [--batch-size=1000] [--out=results/browser-latest.json]`
 *
 * End-to-end sync of N changes (A shares, B receives and integrates) on
 * Chromium's real IndexedDB, beside raw IndexedDB writes of the same rows in
 * the same page, one browser context (fresh storage) per run. Needs Debian's
 * /usr/bin/chromium (or CHROMIUM=/path).
 */
import { createServer } from 'node:http'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import type { IdbE2eResult } from './idb-sync'
import { checkIdbTargets, fmt, machineInfo, renderIdbTable, OUR_IDB_BACKEND } from './report'

const here = dirname(fileURLToPath(import.meta.url))
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']

const options = { sizes: [1000, 10_000], backends: ['ours'] as Array<'ours' | 'legacy'>, batchSize: 1000, out: 'results/browser-latest.json' }
for (const arg of process.argv.slice(2).filter((value) => value !== '--')) {
  const [key, value = ''] = arg.replace(/^--/, '').split('=') as [string, string?]
  if (key === 'sizes') options.sizes = value.split(',').filter(Boolean).map(Number)
  else if (key === 'backends') options.backends = value.split(',').filter(Boolean) as typeof options.backends
  else if (key === 'batch-size') options.batchSize = Number(value)
  else if (key === 'out') options.out = value
  else throw new Error(`unknown option ${arg}; see bench/README.md`)
}
if (!existsSync(CHROMIUM)) {
  console.error(`bench:browser needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=/path/to/chromium)`)
  process.exit(1)
}

const started = Date.now()
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}`)

const esbuild = await import('esbuild')
const bundle = await esbuild.build({
  entryPoints: [join(here, 'browser-entry.ts')],
  bundle: true,
  write: false,
  platform: 'browser',
  format: 'esm',
  target: 'chrome120',
  conditions: ['source'],
  define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
  logLevel: 'error',
  plugins: [
    {
      // Storex's CommonJS modules require Node built-ins on paths the bench never takes (debug printing).
      name: 'empty-node-builtins',
      setup(build) {
        build.onResolve({ filter: /^(node:)?(util|fs|path|os|crypto|module)$/ }, (args) => ({ path: args.path, namespace: 'empty-builtin' }))
        build.onLoad({ filter: /.*/, namespace: 'empty-builtin' }, () => ({ contents: 'module.exports = {}', loader: 'js' }))
      },
    },
  ],
})
const script = bundle.outputFiles[0]!.text
const html = '<!doctype html><meta charset="utf-8"><title>storex-sync IndexedDB bench</title><body><script type="module" src="/bench.js"></script></body>'
const server = createServer((request, response) => {
  if (request.url === '/bench.js') {
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
  } else {
    response.writeHead(200, { 'content-type': 'text/html' }).end(html)
  }
})
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

const home = mkdtempSync(join(tmpdir(), 'storex-sync-bench-chromium-'))
const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, env: { ...process.env, HOME: home } })
const rows: IdbE2eResult[] = []
try {
  log(`Chromium ${browser.version()}, bundle ${(script.length / 1024).toFixed(0)} KiB`)
  for (const backend of options.backends) {
    // One page per backend: a discarded warm-up run (JIT compilation), then the sizes. Every run
    // deletes its databases, so each starts from empty IndexedDB storage.
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
    page.on('console', (message) => console.log(message.text().replace(/^/gm, '    ')))
    await page.goto(url)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000, state: 'attached' })
    for (const n of [200, ...options.sizes]) {
      const warmUp = n === 200
      log(`browser IndexedDB ${backend} N=${n}${warmUp ? ' (warm-up, discarded)' : ''} ...`)
      const row = await page.evaluate(
        (args) => (globalThis as any).runBrowserBench(args) as Promise<IdbE2eResult>,
        { n, backend, batchSize: options.batchSize },
      )
      if (warmUp) continue
      rows.push(row)
      log(
        `browser IndexedDB ${backend} N=${n}: A share ${fmt(row.aShareMs / 1000)} s, B receive+integrate ${fmt((row.bReceiveMs + row.bIntegrateMs) / 1000)} s, ` +
          `raw ${fmt(row.raw.ms / 1000)} s; ${fmt(row.ratioToRaw.aShare)}x / ${fmt(row.ratioToRaw.bTotal)}x raw`,
      )
    }
    await context.close()
  }
} finally {
  await browser.close()
  server.close()
  rmSync(home, { recursive: true, force: true })
}

const targets = checkIdbTargets(rows.filter((row) => row.backend === OUR_IDB_BACKEND), 'Chromium')
const machine = machineInfo() as any
const markdown = [
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.platform}. Chromium ${CHROMIUM}. Run ${new Date(started).toISOString()}, ${((Date.now() - started) / 60000).toFixed(1)} min.`,
  `Parameters: ${JSON.stringify(options)}`,
  '### End-to-end sync on IndexedDB in Chromium (both devices and the raw writes in one page, one after the other)',
  renderIdbTable(rows),
  '### Targets',
  ['| target | wanted | measured | status |', '| --- | --- | --- | --- |', ...targets.map((t) => `| ${t.name} | ${t.target} | ${t.measured} | ${t.status} |`)].join('\n'),
].join('\n\n') + '\n'
const jsonPath = resolve(options.out)
mkdirSync(dirname(jsonPath), { recursive: true })
writeFileSync(jsonPath, JSON.stringify({ startedAt: new Date(started).toISOString(), machine, chromium: CHROMIUM, options, rows, targets }, null, 2))
writeFileSync(jsonPath.replace(/\.json$/, '') + '.md', markdown)
console.log(`\n${markdown}\nWrote ${jsonPath} and ${jsonPath.replace(/\.json$/, '')}.md`)
