import { afterEach, describe, expect, it } from 'vitest'
import type { OperationBatch } from '@worldbrain/storex'
import {
  compareEntries,
  getObjectKey,
  getPkWhere,
  type ClientSyncLogEntry,
  type ReconcilerFunction,
} from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { ContinuousSync } from '@storex-sync/sync-orchestrator'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { clientBackends } from '@storex-sync/test-backends'
import { createTestDevice, type TestDevice, type TestSchema } from './devices'

const USER = 'user-1'

const schema: TestSchema = {
  collections: {
    product: {
      version: new Date('2024-01-01'),
      fields: { name: { type: 'string' }, price: { type: 'int', optional: true } },
    },
  },
  synced: ['product'],
}

/**
 * Products keep the lowest price any shop set (the reconciliation README's
 * example, written here without its diff shortcuts): it does not agree with
 * applying a device's own price rise directly.
 */
function lowestPrice(flag: boolean | undefined): ReconcilerFunction {
  const reconciler: ReconcilerFunction = (entries, options) => {
    const operations: OperationBatch = reconcileSyncLog(entries.filter((entry) => entry.collection !== 'product'), options)
    const histories = new Map<string, ClientSyncLogEntry[]>()
    for (const entry of entries.filter((candidate) => candidate.collection === 'product')) {
      const key = getObjectKey(entry.collection, entry.pk)
      histories.set(key, [...(histories.get(key) ?? []), entry])
    }
    for (const key of [...histories.keys()].sort()) {
      const history = histories.get(key)!.sort(compareEntries)
      if (!history.some((entry) => entry.operation === 'create')) continue
      let product: Record<string, unknown> | null = null
      for (const entry of history) {
        if (entry.operation === 'delete') product = null
        else if (entry.operation === 'create' && !product) product = { ...entry.value }
        else if (product) {
          for (const [field, value] of Object.entries(entry.value)) {
            const higher = field === 'price' && typeof product.price === 'number' && (value as number) > product.price
            product[field] = higher ? product.price : value
          }
        }
      }
      const where = getPkWhere(options.storageRegistry, 'product', history[0]!.pk)
      operations.push({ operation: 'deleteObjects', collection: 'product', where })
      if (product) operations.push({ operation: 'createObject', collection: 'product', args: { ...product, ...where } })
    }
    return operations
  }
  if (flag !== undefined) reconciler.reconcileLocalWrites = flag
  return reconciler
}

describe.each(clientBackends)('reconcileLocalWrites on $kind', ({ kind }) => {
  const devices: TestDevice[] = []
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.storage.cleanup()
  })

  const sharedLogOf = new Map<TestDevice, MemorySharedSyncLog>()
  async function twoShops() {
    const sharedSyncLog = new MemorySharedSyncLog()
    const a = await createTestDevice({ name: 'a', kind, sharedSyncLog, userId: USER, schema, startTime: 1_000 })
    const b = await createTestDevice({ name: 'b', kind, sharedSyncLog, userId: USER, schema, startTime: 1_000 })
    devices.push(a, b)
    sharedLogOf.set(a, sharedSyncLog).set(b, sharedSyncLog)
    return { a, b }
  }

  const prices = async (device: TestDevice) =>
    ((await device.storageManager.collection('product').findObjects({})) as Array<{ price?: number }>).map((p) => p.price)

  async function raiseOwnPrice(a: TestDevice, b: TestDevice, reconciler: ReconcilerFunction, extra: object = {}) {
    await a.storageManager.collection('product').createObject({ name: 'radio', price: 10 })
    for (const device of [a, b, a]) {
      device.clock.now += 10
      await device.sync({ reconciler, ...extra })
    }
    a.clock.now += 10
    await a.storageManager.collection('product').updateObjects({ name: 'radio' }, { price: 20 })
    for (const device of [a, b, a, b]) {
      device.clock.now += 10
      await device.sync({ reconciler, ...extra })
    }
  }

  it('the README lowest-price reconciler converges when it asks for its local writes (fails without)', async () => {
    const { a, b } = await twoShops()
    await raiseOwnPrice(a, b, lowestPrice(true))
    expect(await prices(a)).toEqual([10])
    expect(await prices(b)).toEqual([10])
    expect(await a.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 0 })
    expect(await b.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 0 })
  })

  it('takes doSync({ reconcileLocalWrites }) too, and without it devices drift apart (mode 1)', async () => {
    const withOption = await twoShops()
    await raiseOwnPrice(withOption.a, withOption.b, lowestPrice(undefined), { reconcileLocalWrites: true })
    expect(await prices(withOption.a)).toEqual([10])
    expect(await prices(withOption.b)).toEqual([10])

    const without = await twoShops()
    await raiseOwnPrice(without.a, without.b, lowestPrice(true), { reconcileLocalWrites: false })
    // The reconciler's contract is broken in mode 1: this is the divergence the option exists for.
    expect(await prices(without.a)).toEqual([20])
    expect(await prices(without.b)).toEqual([10])
  })

  it('ContinuousSync passes the reconciler flag and the option on to every sync', async () => {
    const { a, b } = await twoShops()
    const continuous = (device: TestDevice, reconciler: ReconcilerFunction, extra: object = {}) =>
      new ContinuousSync({
        storageManager: device.storageManager,
        clientSyncLog: device.clientSyncLog,
        sharedSyncLog: sharedLogOf.get(device)!,
        reconciler,
        userId: USER,
        deviceId: device.deviceId,
        intervalMs: 0,
        syncOnStart: false,
        getNow: () => device.clock.now,
        ...extra,
      })
    const syncA = continuous(a, lowestPrice(true))
    const syncB = continuous(b, lowestPrice(undefined), { reconcileLocalWrites: true })
    await a.storageManager.collection('product').createObject({ name: 'radio', price: 10 })
    for (const sync of [syncA, syncB, syncA]) await sync.syncNow()
    a.clock.now += 10
    await a.storageManager.collection('product').updateObjects({ name: 'radio' }, { price: 20 })
    for (const sync of [syncA, syncB, syncA, syncB]) await sync.syncNow()
    await syncA.stop()
    await syncB.stop()
    expect(await prices(a)).toEqual([10])
    expect(await prices(b)).toEqual([10])
  })

  it('marks own entries as needing integration when shared, in the same write, and integrates them in the same sync', async () => {
    const { a } = await twoShops()
    const reconciler = lowestPrice(true)
    await a.storageManager.collection('product').createObject({ name: 'radio', price: 10 })
    a.clock.now += 10
    await a.sync({ reconciler, stages: { receive: true, share: true, integrate: false } })
    expect(await a.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 1 })
    const result = await a.sync({ reconciler })
    expect(result.integrated).toMatchObject({ objects: 1, entries: 1 })
    expect(await a.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 0 })
    expect(await prices(a)).toEqual([10])
  })

  it('rewrites objects with the default reconciler too, with the same outcome as applying them directly', async () => {
    const sharedSyncLog = new MemorySharedSyncLog()
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((name) => createTestDevice({ name, kind, sharedSyncLog, userId: USER, schema, startTime: 1_000 })),
    )
    devices.push(a!, b!, c!)
    const rewriting: ReconcilerFunction = (entries, options) => reconcileSyncLog(entries, options)
    rewriting.reconcileLocalWrites = true
    const products = (device: TestDevice) => device.storageManager.collection('product')
    const { object } = await products(a!).createObject({ name: 'radio', price: 10 })
    await products(a!).createObject({ name: 'lamp' })
    for (const device of [a!, b!, c!]) {
      device.clock.now += 10
      await device.sync({ reconciler: rewriting })
    }
    b!.clock.now += 10
    await products(b!).updateObjects({ id: object.id }, { price: 30 })
    c!.clock.now += 20
    await products(c!).deleteObjects({ id: object.id })
    c!.clock.now += 10
    await products(c!).createObject({ id: object.id, name: 'radio 2' })
    a!.clock.now += 40
    await products(a!).updateObjects({ name: 'lamp' }, { price: 5 })
    for (const device of [a!, b!, c!, a!, b!]) {
      device.clock.now += 10
      await device.sync({ reconciler: rewriting })
    }
    const contents = await Promise.all([a!, b!, c!].map((device) => device.contents()))
    expect(contents[1]).toEqual(contents[0])
    expect(contents[2]).toEqual(contents[0])
    expect(contents[0]!.product!.map(({ name, price }) => ({ name, price })).sort((x, y) => String(x.name).localeCompare(String(y.name)))).toEqual([
      { name: 'lamp', price: 5 },
      { name: 'radio 2', price: undefined },
    ])
  })
})
