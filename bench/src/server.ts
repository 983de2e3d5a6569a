// The sync server under load (issue 12), on loopback: live-sync latency with
// 50 connected devices, load on PostgreSQL with 50 devices of 10 users, and
// what one user's 10,000-entry writes do to another user's latency.
// Usage: pnpm bench:server [-- --rounds=20 --live-writes=200 --out=results/server.json]
// Every loop is bounded; the server runs in a child process (its RSS is read
// from /proc), the devices in this one.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import type { DeviceId } from '@storex-sync/shared-sync-log-core'
import { createPostgresDatabase, findPostgresUrl } from '@storex-sync/test-backends'
import { bundleForNode } from './spawn'

const here = dirname(fileURLToPath(import.meta.url))
const args = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=') as [string, string]))
const ROUNDS = Number(args.rounds ?? 20)
const LIVE_WRITES = Number(args['live-writes'] ?? 200)
const USERS = 10
const DEVICES_PER_USER = 5
const OUT = join(here, '..', args.out ?? 'results/server.json')

const log = (line: string) => process.stderr.write(line + '\n')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
const ms = (value: number) => Math.round(value * 10) / 10

/** The command bundled like the published dist/cli.js (our packages from source, npm packages external). */
async function buildCli(dir: string): Promise<string> {
  const serverPackage = join(here, '..', '..', 'packages', 'sync-server')
  const serverRequire = createRequire(join(serverPackage, 'package.json'))
  return bundleForNode({
    entry: join(serverPackage, 'src', 'cli.ts'),
    outfile: join(dir, 'cli.mjs'),
    banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    // npm packages are resolved from the server package, where pnpm put its dependencies
    external: (name, path) => {
      if (name.startsWith('@storex-sync/')) return undefined
      try {
        return serverRequire.resolve(path)
      } catch {
        return undefined
      }
    },
  })
}

interface Server {
  child: ChildProcess
  url: string
  rss(): number
  stop(): Promise<void>
}

async function startServer(cli: string, argv: string[]): Promise<Server> {
  const child = spawn(process.execPath, [cli, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 20_000)
    child.stdout!.on('data', (chunk) => {
      output += chunk
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.stderr!.on('data', (chunk) => (output += chunk))
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)))
  })
  return {
    child,
    url,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

interface Device {
  user: number
  index: number
  id: DeviceId
  client: HttpSharedSyncLog
}

async function main() {
  const found = await findPostgresUrl()
  if ('skipReason' in found) {
    log(`bench:server needs PostgreSQL: ${found.skipReason}`)
    process.exitCode = 1
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'storex-sync-server-bench-'))
  const database = await createPostgresDatabase(found.url)
  const started = Date.now()
  const loadAverageAtStart = loadavg().map((l) => Math.round(l * 10) / 10)
  try {
    const cli = await buildCli(dir)
    const tokens: Record<string, string> = {}
    const tokenOf: string[] = []
    for (let user = 0; user < USERS + 2; user += 1) {
      const token = `bench-user-${user}-`.padEnd(48, 'x')
      tokens[token] = `user-${user}`
      tokenOf.push(token)
    }
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokens))
    const server = await startServer(cli, [
      '--auth', join(dir, 'tokens.json'), '--database', database.url, '--port', '0',
      '--rate-limit-address', '0', '--rate-limit-user', '0', '--body-limit', '8mb',
    ])
    const rssSamples: number[] = [server.rss()]
    const sampler = setInterval(() => rssSamples.push(server.rss()), 200)
    const results: Record<string, unknown> = {}
    try {
      // 50 devices of 10 users, each with its own client and a live stream
      const devices: Device[] = []
      for (let user = 0; user < USERS; user += 1) {
        for (let index = 0; index < DEVICES_PER_USER; index += 1) {
          const client = new HttpSharedSyncLog({ url: server.url, token: tokenOf[user]!, retries: 2 })
          devices.push({ user, index, id: await client.createDeviceId({ userId: `user-${user}` }), client })
        }
      }
      const heard = new Map<DeviceId, Array<number>>()
      const connected = new Set<DeviceId>()
      const stops: Array<() => void> = []
      for (const device of devices) {
        heard.set(device.id, [])
        stops.push(
          device.client.subscribe({
            userId: `user-${device.user}`,
            deviceId: device.id,
            onChange: () => heard.get(device.id)!.push(performance.now()),
            onStateChange: (state) => (state === 'connected' ? connected.add(device.id) : connected.delete(device.id)),
          }),
        )
      }
      for (let wait = 0; connected.size < devices.length && wait < 200; wait += 1) await sleep(50)
      log(`live: ${connected.size} of ${devices.length} devices connected`)

      // 1. live-sync latency: a write on one device to the change event on each other device of its user
      const latencies: number[] = []
      for (let i = 0; i < LIVE_WRITES; i += 1) {
        const writer = devices[(i * 7) % devices.length]!
        const others = devices.filter((d) => d.user === writer.user && d.id !== writer.id)
        const before = new Map(others.map((d) => [d.id, heard.get(d.id)!.length]))
        const t0 = performance.now()
        await writer.client.writeEntries([{ createdOn: Date.now() * 1000 + i, data: `live-${i}` }], { userId: `user-${writer.user}`, deviceId: writer.id })
        for (let wait = 0; wait < 400 && others.some((d) => heard.get(d.id)!.length === before.get(d.id)); wait += 1) await sleep(2)
        for (const other of others) {
          const event = heard.get(other.id)![before.get(other.id)!]
          if (event !== undefined) latencies.push(event - t0)
        }
      }
      const missed = LIVE_WRITES * (DEVICES_PER_USER - 1) - latencies.length
      results.live = { devices: devices.length, writes: LIVE_WRITES, deliveries: latencies.length, missed, p50Ms: ms(percentile(latencies, 50)), p99Ms: ms(percentile(latencies, 99)), maxMs: ms(Math.max(...latencies)) }
      log(`live: ${JSON.stringify(results.live)}`)
      for (const stop of stops) stop()
      await sleep(200)

      // drain what the live phase wrote, so the load phase counts only its own entries
      await Promise.all(devices.map(async (d) => {
        for (let page = 0; page < 100; page += 1) {
          const update = await d.client.getUnsyncedEntries({ userId: `user-${d.user}`, deviceId: d.id, batchSize: 1000 })
          await d.client.markAsSeen(update, { userId: `user-${d.user}`, deviceId: d.id })
          if (!update.hasMore) break
        }
      }))

      // 2. load: every device writes 10 entries, reads and marks as seen, ROUNDS times, all at once
      const requestLatencies: number[] = []
      let written = 0
      let delivered = 0
      const timed = async <T>(run: () => Promise<T>) => {
        const t0 = performance.now()
        const value = await run()
        requestLatencies.push(performance.now() - t0)
        return value
      }
      const loadStart = performance.now()
      rssSamples.length = 0
      await Promise.all(devices.map(async (d) => {
        const userId = `user-${d.user}`
        for (let round = 0; round < ROUNDS; round += 1) {
          const entries = Array.from({ length: 10 }, (_, k) => ({ createdOn: Date.now() * 1000 + round * 100 + k, data: JSON.stringify({ d: d.index, round, k, text: 'x'.repeat(80) }) }))
          await timed(() => d.client.writeEntries(entries, { userId, deviceId: d.id }))
          written += entries.length
          const update = await timed(() => d.client.getUnsyncedEntries({ userId, deviceId: d.id, batchSize: 1000 }))
          delivered += update.entries.length
          await timed(() => d.client.markAsSeen(update, { userId, deviceId: d.id }))
        }
      }))
      const loadSeconds = (performance.now() - loadStart) / 1000
      // what was still unread at the end
      await Promise.all(devices.map(async (d) => {
        for (let page = 0; page < 100; page += 1) {
          const update = await d.client.getUnsyncedEntries({ userId: `user-${d.user}`, deviceId: d.id, batchSize: 1000 })
          delivered += update.entries.length
          await d.client.markAsSeen(update, { userId: `user-${d.user}`, deviceId: d.id })
          if (!update.hasMore) break
        }
      }))
      const expectedDeliveries = written * (DEVICES_PER_USER - 1)
      results.load = {
        users: USERS,
        devices: devices.length,
        rounds: ROUNDS,
        seconds: ms(loadSeconds),
        entriesWritten: written,
        writtenPerSecond: Math.round(written / loadSeconds),
        entriesDelivered: delivered,
        expectedDeliveries,
        deliveredPerSecond: Math.round(delivered / loadSeconds),
        requests: requestLatencies.length,
        requestP50Ms: ms(percentile(requestLatencies, 50)),
        requestP99Ms: ms(percentile(requestLatencies, 99)),
        serverPeakRssMb: Math.round(Math.max(...rssSamples, server.rss()) / 2 ** 20),
      }
      log(`load: ${JSON.stringify(results.load)}`)

      // 3. a noisy neighbour: user A's write + read cycle, alone and while user B writes 10,000 entries at a time
      const quiet = new HttpSharedSyncLog({ url: server.url, token: tokenOf[USERS]!, retries: 0, timeoutMs: 60_000 })
      const noisy = new HttpSharedSyncLog({ url: server.url, token: tokenOf[USERS + 1]!, retries: 0, timeoutMs: 60_000 })
      const quietWriter = await quiet.createDeviceId({ userId: 'q' })
      const quietReader = await quiet.createDeviceId({ userId: 'q' })
      const noisyDevice = await noisy.createDeviceId({ userId: 'n' })
      let quietCounter = 0
      const cycle = async () => {
        const t0 = performance.now()
        quietCounter += 1
        await quiet.writeEntries([{ createdOn: quietCounter, data: `q${quietCounter}` }], { userId: 'q', deviceId: quietWriter })
        const update = await quiet.getUnsyncedEntries({ userId: 'q', deviceId: quietReader })
        await quiet.markAsSeen(update, { userId: 'q', deviceId: quietReader })
        return performance.now() - t0
      }
      const alone: number[] = []
      for (let i = 0; i < 100; i += 1) alone.push(await cycle())
      const during: number[] = []
      // The other user is another machine: a process of its own posting 5 writes of 10,000 entries each.
      const noisyScript = `
        const [url, token, deviceId] = process.argv.slice(1)
        const durations = []
        for (let batch = 0; batch < 5; batch += 1) {
          const entries = Array.from({ length: 10000 }, (_, k) => ({ createdOn: batch * 100000 + k + 1, data: JSON.stringify({ batch, k, text: 'y'.repeat(60) }) }))
          const body = JSON.stringify({ deviceId: JSON.parse(deviceId), entries })
          const t0 = performance.now()
          const response = await fetch(url + '/v1/entries/write', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body })
          if (!response.ok) throw new Error('noisy write failed: ' + response.status + ' ' + (await response.text()))
          durations.push(performance.now() - t0)
        }
        process.stdout.write(JSON.stringify(durations))
      `
      const noisyChild = spawn(process.execPath, ['--input-type=module', '-e', noisyScript, server.url, tokenOf[USERS + 1]!, JSON.stringify(noisyDevice)], { stdio: ['ignore', 'pipe', 'inherit'] })
      let noisyOutput = ''
      noisyChild.stdout!.on('data', (chunk) => (noisyOutput += chunk))
      let noisyDone = false
      const noisyRun = new Promise<void>((resolve, reject) => noisyChild.on('exit', (code) => (noisyDone = true, code === 0 ? resolve() : reject(new Error(`noisy writer exited with ${code}`)))))
      for (let i = 0; i < 5000 && !noisyDone; i += 1) during.push(await cycle())
      await noisyRun
      const noisyDurations: number[] = JSON.parse(noisyOutput)
      // was the server's event loop blocked (its own CPU work) or was it the database / the machine?
      const metricsText = await (await fetch(`${server.url}/metrics`)).text()
      const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(metricsText)?.[1] ?? NaN)
      const noisyWrites = noisyDurations.length * 10_000
      results.neighbour = {
        noisyEntries: noisyWrites,
        noisyWriteMsEach: noisyDurations.map(ms),
        quietCyclesAlone: alone.length,
        quietAloneP50Ms: ms(percentile(alone, 50)),
        quietAloneP99Ms: ms(percentile(alone, 99)),
        quietCyclesDuring: during.length,
        quietDuringP50Ms: ms(percentile(during, 50)),
        quietDuringP99Ms: ms(percentile(during, 99)),
        addedP50Ms: ms(percentile(during, 50) - percentile(alone, 50)),
        addedP99Ms: ms(percentile(during, 99) - percentile(alone, 99)),
        serverEventLoopLagMaxMs: ms(metric('storex_sync_nodejs_eventloop_lag_max_seconds') * 1000),
        serverEventLoopLagP99Ms: ms(metric('storex_sync_nodejs_eventloop_lag_p99_seconds') * 1000),
      }
      log(`neighbour: ${JSON.stringify(results.neighbour)}`)
    } finally {
      clearInterval(sampler)
      await server.stop()
    }
    const report = {
      machine: { loadAverageAtEnd: loadavg().map((l) => Math.round(l * 10) / 10), loadAverageAtStart, cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` },
      run: new Date(started).toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      parameters: { users: USERS, devicesPerUser: DEVICES_PER_USER, rounds: ROUNDS, liveWrites: LIVE_WRITES, database: 'PostgreSQL (loopback)', server: 'storex-sync-server in a child process' },
      results,
    }
    mkdirSync(dirname(OUT), { recursive: true })
    writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n')
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
  } finally {
    await database.drop().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
