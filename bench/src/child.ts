/**
 * One device of the end-to-end benchmark, in a process of its own so that
 * device B's memory is B's alone. Run as
 * `node --import tsx --conditions=source child.ts <params.json> <result.json>`.
 */
import { runAsChild } from './child-entry'
import { MemorySampler } from './memory'
import {
  USER_ID,
  createOriginalDevice,
  createOurDevice,
  loadOriginal,
  openOriginalSharedLog,
  openOurSharedLog,
} from './setup'
import { countChanges, runWorkload, type WorkloadOptions } from './workload'

export interface ChildParams extends WorkloadOptions {
  role: 'a' | 'b'
  engine: 'ours' | 'original'
  dir: string
  batchSize: number
  /** Set for role 'b': its device id in the shared log, created by A's process. */
  deviceId?: string | number
  /** Role 'b', engine 'ours': keep B's database on PostgreSQL (an empty database at this URL) instead of an SQLite file. */
  bPostgresUrl?: string
}

export interface ChildResultA {
  role: 'a'
  writeMs: number
  shareMs: number
  entries: number
  bDeviceId: string | number
}

export interface ChildResultB {
  role: 'b'
  receiveMs: number
  integrateMs: number
  entriesReceived: number
  objects: number
  baselineRssBytes: number
  baselineHeapUsedBytes: number
  peakHeapUsedBytes: number
  peakRssBytes: number
  maxRssBytes: number
  /** heapUsed after the sync and a forced GC: what B still holds (a leak would grow with N). */
  retainedHeapUsedBytes: number
}

const time = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now()
  const value = await run()
  return [value, performance.now() - started]
}

async function runA(params: ChildParams): Promise<ChildResultA> {
  const changes = countChanges(params)
  if (params.engine === 'ours') {
    const { sharedSyncLog, storage: sharedStorage } = await openOurSharedLog(`${params.dir}/shared.sqlite`)
    const deviceId = await sharedSyncLog.createDeviceId({ userId: USER_ID })
    const bDeviceId = await sharedSyncLog.createDeviceId({ userId: USER_ID })
    const device = await createOurDevice({ kind: 'sqlite', database: `${params.dir}/a.sqlite`, sharedSyncLog, deviceId: String(deviceId) })
    const [, writeMs] = await time(() => runWorkload(device.storageManager, params))
    const [result, shareMs] = await time(() => device.sync({ batchSize: params.batchSize }))
    if (result.sent.entries !== changes.total) {
      throw new Error(`A sent ${result.sent.entries} entries, expected ${changes.total}`)
    }
    await device.storage.cleanup()
    await sharedStorage.cleanup()
    return { role: 'a', writeMs, shareMs, entries: result.sent.entries, bDeviceId }
  }
  const original = loadOriginal()
  const { sharedSyncLog, storage: sharedStorage } = await openOriginalSharedLog(`${params.dir}/shared.sqlite`)
  const deviceId = await sharedSyncLog.createDeviceId({ userId: USER_ID, sharedUntil: 0 })
  const bDeviceId = await sharedSyncLog.createDeviceId({ userId: USER_ID, sharedUntil: 0 })
  const device = await createOriginalDevice({ kind: 'sqlite', database: `${params.dir}/a.sqlite` })
  const [, writeMs] = await time(() => runWorkload(device.storageManager, params))
  const [, shareMs] = await time(() =>
    original.doSync({
      clientSyncLog: device.clientSyncLog,
      sharedSyncLog,
      storageManager: device.storageManager,
      reconciler: original.reconcileSyncLog,
      now: Date.now(),
      userId: USER_ID,
      deviceId,
    }),
  )
  const entries = await sharedStorage.storageManager.operation('countObjects', 'sharedSyncLogEntry', {})
  await device.storage.cleanup()
  await sharedStorage.cleanup()
  return { role: 'a', writeMs, shareMs, entries: Number(entries), bDeviceId }
}

async function runB(params: ChildParams): Promise<ChildResultB> {
  const changes = countChanges(params)
  const expectedObjects = changes.creates - changes.deletes
  let device: { storageManager: any; storage: { cleanup(): Promise<void> } }
  let receiveMs = 0
  let integrateMs = 0
  let entriesReceived = 0
  let sampler: MemorySampler
  let sharedCleanup: () => Promise<void>
  let baseline: NodeJS.MemoryUsage
  const startSampling = () => {
    global.gc?.()
    baseline = process.memoryUsage()
    sampler = new MemorySampler().start()
  }

  if (params.engine === 'ours') {
    const { sharedSyncLog, storage } = await openOurSharedLog(`${params.dir}/shared.sqlite`)
    sharedCleanup = () => storage.cleanup()
    const ours = await createOurDevice({
      kind: params.bPostgresUrl ? 'postgres' : 'sqlite',
      database: params.bPostgresUrl ?? `${params.dir}/b.sqlite`,
      sharedSyncLog,
      deviceId: String(params.deviceId),
    })
    device = ours
    let stageStarted = 0
    const events = {
      emit(name: string, payload: any) {
        sampler.sample()
        if (name === 'stageStarted') stageStarted = performance.now()
        if (name === 'stageFinished') {
          const elapsed = performance.now() - stageStarted
          if (payload.stage === 'receive') receiveMs += elapsed
          else if (payload.stage === 'integrate') integrateMs += elapsed
        }
      },
    }
    startSampling()
    const result = await ours.sync({ batchSize: params.batchSize, events })
    entriesReceived = result.received.stored
  } else {
    const original = loadOriginal()
    const { sharedSyncLog, storage } = await openOriginalSharedLog(`${params.dir}/shared.sqlite`)
    sharedCleanup = () => storage.cleanup()
    const theirs = await createOriginalDevice({ kind: 'sqlite', database: `${params.dir}/b.sqlite` })
    device = theirs
    startSampling()
    const now = Date.now()
    ;[, receiveMs] = await time(() =>
      original.receiveLogEntries({ clientSyncLog: theirs.clientSyncLog, sharedSyncLog, deviceId: params.deviceId, now }),
    )
    // The rest of its doSync: receive finds nothing new, share has nothing, then one object per round trip.
    ;[, integrateMs] = await time(() =>
      original.doSync({
        clientSyncLog: theirs.clientSyncLog,
        sharedSyncLog,
        storageManager: theirs.storageManager,
        reconciler: original.reconcileSyncLog,
        now: now + 1,
        userId: USER_ID,
        deviceId: params.deviceId,
      }),
    )
    entriesReceived = Number(await theirs.storageManager.operation('countObjects', 'clientSyncLogEntry', {}))
  }
  const memory = sampler!.stop()
  global.gc?.()
  const retainedHeapUsedBytes = process.memoryUsage().heapUsed
  const objects = Number(await device.storageManager.operation('countObjects', 'note', {}))
  if (objects !== expectedObjects) {
    throw new Error(`B holds ${objects} notes after sync, expected ${expectedObjects}`)
  }
  await device.storage.cleanup()
  await sharedCleanup()
  return {
    role: 'b',
    receiveMs,
    integrateMs,
    entriesReceived,
    objects,
    baselineRssBytes: baseline!.rss,
    baselineHeapUsedBytes: baseline!.heapUsed,
    ...memory,
    retainedHeapUsedBytes,
  }
}

runAsChild<ChildParams, unknown>((params) => (params.role === 'a' ? runA(params) : runB(params)))
