import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildParams, ChildResultA, ChildResultB } from './child'
import { countChanges } from './workload'

const here = dirname(fileURLToPath(import.meta.url))
const cacheDir = join(here, '..', '.cache')
let childBundle: Promise<string> | undefined

/**
 * Device processes run a bundle of child.ts (our packages inlined from source,
 * node_modules left external) on plain node: a TypeScript loader in the child
 * would add some 35 MB to the RSS measured for B.
 */
function buildChild(): Promise<string> {
  childBundle ??= (async () => {
    const esbuild = await import('esbuild')
    const outfile = join(cacheDir, `child-${process.pid}.mjs`)
    await esbuild.build({
      entryPoints: [join(here, 'child.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['source'],
      logLevel: 'error',
      plugins: [
        {
          name: 'external-node-modules',
          setup(build) {
            // bench's own dependencies stay external (node finds them from here);
            // our packages and their dependencies (invisible from here under pnpm) go into the bundle.
            const manifest = createRequire(import.meta.url)('../package.json')
            const own = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})])
            const packageName = (path: string) => path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/')
            build.onResolve({ filter: /^[^./]/ }, (args) => {
              const name = packageName(args.path)
              if (args.path.startsWith('node:') || builtinModules.includes(name)) return { path: args.path, external: true }
              if (name === '@storex-sync/test-backends') return { path: args.path, external: true }
              if (name.startsWith('@storex-sync/') || !own.has(name)) return undefined
              return { path: args.path, external: true }
            })
          },
        },
      ],
    })
    process.once('exit', () => rmSync(outfile, { force: true }))
    return outfile
  })()
  return childBundle
}

async function runChild<T>(params: ChildParams): Promise<T> {
  const paramsPath = join(params.dir, `params-${params.role}.json`)
  const resultPath = join(params.dir, `result-${params.role}.json`)
  writeFileSync(paramsPath, JSON.stringify(params))
  const bundle = await buildChild()
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', bundle, paramsPath, resultPath],
      { stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    )
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) {
        resolve(JSON.parse(readFileSync(resultPath, 'utf8')) as T)
      } else {
        reject(new Error(`device ${params.role} (${params.engine}, N=${params.n}) exited with ${signal ?? code}:\n${stderr.slice(-4000)}`))
      }
    })
  })
}

export interface E2eResult {
  engine: 'ours' | 'original'
  /** Where B's database is. */
  bBackend: 'sqlite' | 'postgres'
  n: number
  deletes: boolean
  batchSize: number
  changes: ReturnType<typeof countChanges>
  a: { writeMs: number; shareMs: number; entries: number }
  b: Omit<ChildResultB, 'role'>
  /** B's receive + integrate. */
  bTotalMs: number
  entriesPerSecond: number
  /** B's receive + integrate per received entry, microseconds. */
  perEntryUs: number
}

/** One end-to-end sync: A's process writes and shares, then B's process receives and integrates. */
export async function runE2e(options: {
  engine: 'ours' | 'original'
  n: number
  deletes: boolean
  batchSize: number
  /** B's database on PostgreSQL (an empty database at this URL) instead of an SQLite file. */
  bPostgresUrl?: string
}): Promise<E2eResult> {
  const dir = mkdtempSync(join(tmpdir(), `storex-sync-bench-${options.engine}-`))
  try {
    const common = { engine: options.engine, n: options.n, updates: true, deletes: options.deletes, batchSize: options.batchSize, dir }
    const a = await runChild<ChildResultA>({ ...common, role: 'a' })
    const { role: _role, ...b } = await runChild<ChildResultB>({
      ...common,
      role: 'b',
      deviceId: a.bDeviceId,
      ...(options.bPostgresUrl ? { bPostgresUrl: options.bPostgresUrl } : {}),
    })
    const changes = countChanges({ ...common })
    const bTotalMs = b.receiveMs + b.integrateMs
    return {
      engine: options.engine,
      bBackend: options.bPostgresUrl ? 'postgres' : 'sqlite',
      n: options.n,
      deletes: options.deletes,
      batchSize: options.batchSize,
      changes,
      a: { writeMs: a.writeMs, shareMs: a.shareMs, entries: a.entries },
      b,
      bTotalMs,
      entriesPerSecond: (changes.total / bTotalMs) * 1000,
      perEntryUs: (bTotalMs * 1000) / changes.total,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
