import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const cacheDir = join(here, '..', '.cache')
const bundles = new Map<string, Promise<string>>()

/**
 * Device processes run a bundle of a child script (our packages inlined from
 * source, node_modules left external) on plain node: a TypeScript loader in
 * the child would add some 35 MB to the RSS measured for it.
 */
export function buildBundle(entry: string): Promise<string> {
  let bundle = bundles.get(entry)
  if (!bundle) {
    bundle = (async () => {
      const esbuild = await import('esbuild')
      const outfile = join(cacheDir, `${entry.replace(/\.ts$/, '')}-${process.pid}.mjs`)
      await esbuild.build({
        entryPoints: [join(here, entry)],
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
