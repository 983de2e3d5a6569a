/**
 * End-to-end sync with both devices on IndexedDB, beside raw writes of the
 * same rows, in one JavaScript realm: fake-indexeddb in Node (`pnpm bench`),
 * the real IndexedDB in Chromium (`pnpm bench:browser`, which bundles this
 * file). Nothing here imports a Node module.
 */
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { createSyncedDevice } from '@storex-sync/device'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { StorageManager } from '@storex-sync/storex-glue'
import type { StorageBackend } from '@worldbrain/storex'
import { USER_ID, benchCollections, makeNote } from './notes'
import { countChanges, runWorkload } from './workload'

export interface IdbEnvironment {
  indexedDB: IDBFactory
  IDBKeyRange: typeof IDBKeyRange
  /** Which Storex backend the devices use (its name goes into the report). */
  backendName: string
  /** A Storex backend on database `dbName` of `indexedDB`. */
  createBackend(dbName: string): unknown
}

export interface IdbE2eResult {
  backend: string
  n: number
  changes: ReturnType<typeof countChanges>
  aWriteMs: number
  aShareMs: number
  bReceiveMs: number
  bIntegrateMs: number
  /**
   * Raw writes of the rows B ends up writing: log rows, objects, log updates, transactions of
   * 1,000. Measured before device A starts and again after B finished; `ms` is their mean (the
   * machine's load changes during a run; the two bracket the sync).
   */
  raw: { logRows: number; objects: number; logUpdates: number; ms: number; beforeMs: number; afterMs: number }
  /** Microseconds per entry. */
  perEntryUs: { aShare: number; bTotal: number; raw: number }
  /** Against the raw write time of the same run. */
  ratioToRaw: { aShare: number; bTotal: number }
}

let databaseCounter = 0
const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(databaseCounter += 1)}`

function deleteDatabase(indexedDB: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name)
    request.onsuccess = request.onerror = request.onblocked = () => resolve()
  })
}

async function createDevice(env: IdbEnvironment, options: { dbName: string; deviceId: string | number; sharedSyncLog: MemorySharedSyncLog }) {
  const backend = env.createBackend(options.dbName) as StorageBackend & { dexie?: { close(): void }; dexieInstance?: { close(): void } }
  const device = await createSyncedDevice({
    storageManager: new StorageManager({ backend }),
    collections: structuredClone(benchCollections),
    sharedSyncLog: options.sharedSyncLog,
    userId: USER_ID,
    deviceId: options.deviceId,
  })
  return {
    storageManager: device.storageManager,
    clientSyncLog: device.clientSyncLog,
    sync: (events?: { emit(name: string, payload: any): void }, batchSize = 1000) => device.sync({ batchSize, ...(events ? { events: events as any } : {}) }),
    close() {
      const dexie = backend.dexie ?? backend.dexieInstance
      dexie?.close?.()
    },
  }
}

/** The client log's IndexedDB layout as Dexie makes it: keyPath = pk field, one index per Storex index (compound ones named `[a+b]`). */
function clientLogIndices(): { pk: string; indices: Array<{ name: string; keyPath: string | string[] }> } {
  const storageManager = new StorageManager({ backend: { configure() {} } as any })
  const config = new ClientSyncLogStorage({ storageManager }).getConfig()
  const definition = config.collections!['clientSyncLogEntry'] as any
  let pk = 'id'
  const indices: Array<{ name: string; keyPath: string | string[] }> = []
  for (const index of definition.indices ?? []) {
    if (index.pk) pk = index.field
    else if (Array.isArray(index.field)) indices.push({ name: `[${index.field.join('+')}]`, keyPath: index.field })
    else indices.push({ name: index.field, keyPath: index.field })
  }
  return { pk, indices }
}

/**
 * What the storage can do: the rows B writes for `entries` received entries
 * of which `objects` survive, written straight through the IndexedDB API in
 * transactions of `transactionSize`: the log rows, the objects, then each log
 * row again (marked integrated).
 */
export async function measureRawWrites(
  env: IdbEnvironment,
  options: { entries: number; objects: number; transactionSize?: number },
): Promise<{ logRows: number; objects: number; logUpdates: number; ms: number }> {
  const transactionSize = options.transactionSize ?? 1000
  const name = uniqueName('bench-raw')
  const layout = clientLogIndices()
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = env.indexedDB.open(name, 1)
    request.onupgradeneeded = () => {
      const log = request.result.createObjectStore('clientSyncLogEntry', { keyPath: layout.pk })
      for (const index of layout.indices) log.createIndex(index.name, index.keyPath)
      request.result.createObjectStore('note', { keyPath: 'id' })
    }
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  const logRows = Array.from({ length: options.entries }, (_, index) => {
    const pk = `raw${index.toString(36).padStart(8, '0')}`
    const createdOn = 1_700_000_000_000 + index
    return {
      id: JSON.stringify(['device-a', createdOn]),
      createdOn,
      sharedOn: 1_700_000_100_000,
      unshared: 0,
      needsIntegration: 1,
      deviceId: 'device-a',
      collection: 'note',
      objectKey: JSON.stringify(['note', pk]),
      pk,
      operation: 'create',
      value: makeNote(index),
    }
  })
  const objects = Array.from({ length: options.objects }, (_, index) => ({ id: `raw${index.toString(36).padStart(8, '0')}`, ...makeNote(index) }))
  const write = async (store: string, rows: any[]) => {
    for (let start = 0; start < rows.length; start += transactionSize) {
      await new Promise<void>((resolve, reject) => {
        const transaction = db.transaction(store, 'readwrite')
        const objectStore = transaction.objectStore(store)
        for (const row of rows.slice(start, start + transactionSize)) objectStore.put(row)
        transaction.oncomplete = () => resolve()
        transaction.onerror = transaction.onabort = () => reject(transaction.error)
      })
    }
  }
  const started = performance.now()
  await write('clientSyncLogEntry', logRows)
  await write('note', objects)
  await write('clientSyncLogEntry', logRows.map((row) => ({ ...row, needsIntegration: 0 })))
  const ms = performance.now() - started
  db.close()
  await deleteDatabase(env.indexedDB, name)
  return { logRows: logRows.length, objects: objects.length, logUpdates: logRows.length, ms }
}

/**
 * Device A makes N creates, updates of half and deletes of a tenth, and
 * shares them; device B receives and integrates them (doSync's stage events
 * time the two stages). The shared log is the in-memory one, so only the
 * devices' IndexedDB work is measured. Then the raw writes of B's rows.
 */
export async function runIdbE2e(env: IdbEnvironment, options: { n: number; batchSize?: number; log?: (line: string) => void }): Promise<IdbE2eResult> {
  const batchSize = options.batchSize ?? 1000
  const changes = countChanges({ n: options.n, updates: true, deletes: true })
  const sharedSyncLog = new MemorySharedSyncLog({ autoPkType: 'string' })
  const aId = await sharedSyncLog.createDeviceId({ userId: USER_ID })
  const bId = await sharedSyncLog.createDeviceId({ userId: USER_ID })
  const aName = uniqueName('bench-a')
  const bName = uniqueName('bench-b')
  const a = await createDevice(env, { dbName: aName, deviceId: aId, sharedSyncLog })
  const b = await createDevice(env, { dbName: bName, deviceId: bId, sharedSyncLog })
  const rawShape = { entries: changes.total, objects: changes.creates - changes.deletes }
  const rawBefore = await measureRawWrites(env, rawShape)
  try {
    let started = performance.now()
    await runWorkload(a.storageManager, { n: options.n, updates: true, deletes: true })
    const aWriteMs = performance.now() - started
    options.log?.(`  A wrote ${changes.total} changes in ${(aWriteMs / 1000).toFixed(2)} s`)
    started = performance.now()
    const shared = await a.sync(undefined, batchSize)
    const aShareMs = performance.now() - started
    if (shared.sent.entries !== changes.total) throw new Error(`A sent ${shared.sent.entries} entries, expected ${changes.total}`)
    options.log?.(`  A shared in ${(aShareMs / 1000).toFixed(2)} s`)

    let stageStarted = 0
    let bReceiveMs = 0
    let bIntegrateMs = 0
    const events = {
      emit(name: string, payload: any) {
        if (name === 'stageStarted') stageStarted = performance.now()
        if (name === 'stageFinished') {
          const elapsed = performance.now() - stageStarted
          if (payload.stage === 'receive') bReceiveMs += elapsed
          else if (payload.stage === 'integrate') bIntegrateMs += elapsed
        }
      },
    }
    const received = await b.sync(events, batchSize)
    if (received.received.stored !== changes.total) throw new Error(`B stored ${received.received.stored} entries, expected ${changes.total}`)
    const objects = Number(await b.storageManager.operation('countObjects', 'note', {}))
    if (objects !== changes.creates - changes.deletes) throw new Error(`B holds ${objects} notes, expected ${changes.creates - changes.deletes}`)
    options.log?.(`  B received in ${(bReceiveMs / 1000).toFixed(2)} s, integrated in ${(bIntegrateMs / 1000).toFixed(2)} s`)
    a.close()
    b.close()
    await deleteDatabase(env.indexedDB, aName)
    await deleteDatabase(env.indexedDB, bName)

    const rawAfter = await measureRawWrites(env, rawShape)
    const raw = { ...rawAfter, ms: (rawBefore.ms + rawAfter.ms) / 2, beforeMs: rawBefore.ms, afterMs: rawAfter.ms }
    options.log?.(`  raw writes of the same rows: ${(rawBefore.ms / 1000).toFixed(2)} s before, ${(rawAfter.ms / 1000).toFixed(2)} s after`)
    const bTotal = bReceiveMs + bIntegrateMs
    return {
      backend: env.backendName,
      n: options.n,
      changes,
      aWriteMs,
      aShareMs,
      bReceiveMs,
      bIntegrateMs,
      raw,
      perEntryUs: {
        aShare: (aShareMs * 1000) / changes.total,
        bTotal: (bTotal * 1000) / changes.total,
        raw: (raw.ms * 1000) / changes.total,
      },
      ratioToRaw: { aShare: aShareMs / raw.ms, bTotal: bTotal / raw.ms },
    }
  } finally {
    a.close()
    b.close()
  }
}
