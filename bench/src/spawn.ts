import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const cacheDir = join(here, '..', '.cache')
const bundles = new Map<string, Promise<string>>()

/** A package name from an import path (`@scope/name/sub` -> `@scope/name`). */
function packageName(path: string): string {
  return path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/')
}

/**
 * Bundles `entry` for plain node the way the benchmarks run code: our packages
 * inlined from source, node built-ins external, and every other import as
 * `external` says (a path to import it from, true to import it as written,
 * undefined to bundle it).
 */
export async function bundleForNode(options: {
  entry: string
  outfile: string
  external: (name: string, path: string) => string | true | undefined
  banner?: string
}): Promise<string> {
  const esbuild = await import('esbuild')
  await esbuild.build({
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    logLevel: 'error',
    ...(options.banner ? { banner: { js: options.banner } } : {}),
    plugins: [
      {
        name: 'bench-externals',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            const name = packageName(args.path)
            if (args.path.startsWith('node:') || builtinModules.includes(name)) return { path: args.path, external: true }
            const external = options.external(name, args.path)
            if (external === undefined) return undefined
            return { path: external === true ? args.path : external, external: true }
          })
        },
      },
    ],
  })
  return options.outfile
}

/**
 * Device processes run a bundle of a child script (our packages inlined from
 * source, node_modules left external) on plain node: a TypeScript loader in
 * the child would add some 35 MB to the RSS measured for it.
 */
export function buildBundle(entry: string): Promise<string> {
  let bundle = bundles.get(entry)
  if (!bundle) {
    // bench's own dependencies stay external (node finds them from here);
    // our packages and their dependencies (invisible from here under pnpm) go into the bundle.
    const manifest = createRequire(import.meta.url)('../package.json')
    const own = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})])
    const outfile = join(cacheDir, `${entry.replace(/\.ts$/, '')}-${process.pid}.mjs`)
    bundle = bundleForNode({
      entry: join(here, entry),
      outfile,
      external: (name) => (name === '@storex-sync/test-backends' || (!name.startsWith('@storex-sync/') && own.has(name)) ? true : undefined),
    }).then((built) => {
      process.once('exit', () => rmSync(built, { force: true }))
      return built
    })
    bundles.set(entry, bundle)
  }
  return bundle
}

/**
 * Runs the bundle of `entry` in a process of its own with `params` (written
 * to a JSON file in `dir`) and resolves with the JSON result it writes.
 * The child inherits stdout (progress output); its stderr is shown on failure.
 */
export async function runBundledChild<T>(entry: string, params: unknown, options: { dir: string; name: string; describe: string }): Promise<T> {
  const paramsPath = join(options.dir, `params-${options.name}.json`)
  const resultPath = join(options.dir, `result-${options.name}.json`)
  writeFileSync(paramsPath, JSON.stringify(params))
  const bundle = await buildBundle(entry)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', bundle, paramsPath, resultPath], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) {
        resolve(JSON.parse(readFileSync(resultPath, 'utf8')) as T)
      } else {
        reject(new Error(`${options.describe} exited with ${signal ?? code}:\n${stderr.slice(-4000)}`))
      }
    })
  })
}
