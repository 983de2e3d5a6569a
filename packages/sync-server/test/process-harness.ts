import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'tsup'

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)))

export interface ProcessRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `node script ...args` in `cwd` to its end; rejects (and kills it) if it has not exited within `timeoutMs`. */
export function runToExit(script: string, args: string[], options: { cwd: string; timeoutMs: number }): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${options.timeoutMs} ms\n${stdout}\n${stderr}`))
    }, options.timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export interface Harness {
  cli: string
  dir: string
  tokenFile: string
  cleanup(): void
}

/** Bundles these entries as the published build does (workspace packages from source, npm dependencies external). */
export async function bundleAsPublished(entry: Record<string, string>, outDir: string): Promise<void> {
  await build({
    entry,
    outDir,
    format: ['esm'],
    target: 'node20',
    dts: false,
    silent: true,
    config: false,
    noExternal: [/^@storex-sync\//],
    external: ['fastify', 'zod', 'pg', 'better-sqlite3', 'jose', 'prom-client', /^@fastify\//, /^@worldbrain\//],
    esbuildOptions(options) {
      options.conditions = ['source']
    },
  })
}

/** Bundles `storex-sync-server` as the published build does, with a token file beside it. */
export async function buildCli(tokens: Record<string, string>): Promise<Harness> {
  const buildDir = join(packageDir, '.test-build', `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  await bundleAsPublished({ cli: join(packageDir, 'src/cli.ts') }, buildDir)
  const dir = mkdtempSync(join(tmpdir(), 'storex-sync-process-'))
  const tokenFile = join(dir, 'tokens.json')
  writeFileSync(tokenFile, JSON.stringify(tokens))
  return {
    cli: join(buildDir, 'cli.js'),
    dir,
    tokenFile,
    cleanup() {
      rmSync(buildDir, { recursive: true, force: true })
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface RunningCli {
  child: ChildProcess
  url: string
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string }
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string | null>
  stop(signal?: NodeJS.Signals): Promise<number | string | null>
}

/** Starts the server and resolves once it printed its status line. */
export function startCli(harness: Harness, args: string[], env: Record<string, string> = {}): Promise<RunningCli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harness.cli, ...args], { cwd: harness.dir, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    let started = false
    const exited = new Promise<number | string | null>((done) => child.on('exit', (code, signal) => done(code ?? signal)))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the server printed no status line within 15 s\n${stdout}\n${stderr}`))
    }, 15_000)
    child.stderr!.on('data', (chunk) => (stderr += chunk))
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match && !started) {
        started = true
        clearTimeout(timer)
        resolve({
          child,
          url: match[1]!,
          output: () => ({ stdout, stderr }),
          exited,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal)
            return exited
          },
        })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      if (!started) reject(new Error(`the server exited with ${code}\n${stdout}\n${stderr}`))
    })
  })
}
