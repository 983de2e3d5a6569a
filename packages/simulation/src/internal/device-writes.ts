import type { Step } from '../schedule'
import { randomCreateValues, randomUpdateValues, randomWhere } from '../schema'
import { registryOf } from './app'
import type { SimulatedDevice } from './device'
import { pickCyclic } from './pick'
import { Random } from './random'
import stringify from './stable-stringify'

/** The steps in which the app writes to a synced collection. */
export type WriteStep = Extract<Step, { op: 'create' | 'update' | 'delete' | 'recreate' | 'updateWhere' | 'deleteWhere' | 'batch' | 'burst' }>

/** Runs a write step on one of the device's tabs; returns what it did. */
export async function applyWrite(device: SimulatedDevice, step: WriteStep): Promise<string> {
  const { world } = device
  const collection = pickCyclic(world.app.synced, step.collection)
  const { storage } = device.tab(step.tab)
  const registry = registryOf(storage)
  const objects = storage.storageManager.collection(collection)
  switch (step.op) {
    case 'create': {
      const { object } = await objects.createObject(randomCreateValues(registry, collection, step.seed))
      world.remember(collection, object.id)
      return `created ${collection} ${object.id}`
    }
    case 'update':
    case 'delete': {
      const existing = await device.localObjects(collection)
      if (!existing.length) return 'nothing to change'
      const target = pickCyclic(existing, step.pick)
      if (step.op === 'update') {
        const updates = randomUpdateValues(registry, collection, step.seed)
        if (step.seed % 2) await objects.updateOneObject({ id: target['id'] }, updates)
        else await objects.updateObjects({ id: target['id'] }, updates)
        return `updated ${collection} ${target['id']} ${stringify(updates)}`
      }
      if (step.pick % 2) await objects.deleteOneObject({ id: target['id'] })
      else await objects.deleteObjects({ id: target['id'] })
      return `deleted ${collection} ${target['id']}`
    }
    case 'recreate': {
      const present = new Set((await device.localObjects(collection)).map((object) => String(object['id'])))
      const candidates = [...world.knownPksOf(collection)].filter((pk) => !present.has(pk)).sort()
      if (!candidates.length) return 'nothing to recreate'
      const pk = pickCyclic(candidates, step.pick)
      await objects.createObject({ ...randomCreateValues(registry, collection, step.seed), id: pk })
      return `recreated ${collection} ${pk}`
    }
    case 'updateWhere':
    case 'deleteWhere': {
      const where = randomWhere(registry, collection, step.seed)
      if (!where) return 'no queryable field'
      if (step.op === 'updateWhere') {
        const updates = randomUpdateValues(registry, collection, step.seed + 1)
        await objects.updateObjects(where, updates)
        return `updated ${collection} where ${stringify(where)}: ${stringify(updates)}`
      }
      await objects.deleteObjects(where)
      return `deleted ${collection} where ${stringify(where)}`
    }
    case 'batch':
      return writeBatch(device, step, collection)
    case 'burst': {
      // Every tab writes at once, within one millisecond of the device's clock.
      const writes = device.tabs.flatMap((tab, tabIndex) =>
        Array.from({ length: step.size }, (_, index) =>
          tab.storage.storageManager
            .collection(collection)
            .createObject(randomCreateValues(registryOf(tab.storage), collection, step.seed + tabIndex * 101 + index))
            .then((result) => {
              const id = (result.object as Record<string, unknown>)['id']
              world.remember(collection, id)
              return String(id)
            }),
        ),
      )
      return `burst on ${collection} from ${device.tabs.length} tab(s): ${(await Promise.all(writes)).join(', ')}`
    }
  }
}

/** One executeBatch of creates, updates and deletes; an update or delete may hit an object created (or deleted) earlier in it. */
async function writeBatch(device: SimulatedDevice, step: Extract<WriteStep, { op: 'batch' }>, collection: string): Promise<string> {
  const { storage } = device.tab(step.tab)
  const registry = registryOf(storage)
  const random = new Random(step.seed)
  const existing = (await device.localObjects(collection)).map((object) => String(object['id']))
  const batch: any[] = []
  for (let index = 0; index < step.size; index += 1) {
    const choice = existing.length ? random.int(0, 2) : 0
    if (choice === 0) {
      const pk = `${device.name}-b${++device.batchCounter}`
      device.world.remember(collection, pk)
      existing.push(pk)
      batch.push({
        placeholder: `create-${index}`,
        operation: 'createObject',
        collection,
        args: { ...randomCreateValues(registry, collection, random.int(0, 2 ** 30)), id: pk },
      })
    } else if (choice === 1) {
      batch.push({
        operation: 'updateObjects',
        collection,
        where: { id: random.pick(existing) },
        updates: randomUpdateValues(registry, collection, random.int(0, 2 ** 30)),
      })
    } else {
      batch.push({ operation: 'deleteObjects', collection, where: { id: random.pick(existing) } })
    }
  }
  await storage.storageManager.operation('executeBatch', batch)
  return `batch on ${collection}: ${batch.map((item) => `${item.operation}(${item.args?.id ?? item.where?.id})`).join(', ')}`
}

/** An app batch on a collection that is not synced: it must neither travel nor get in a sync's way. */
export async function localBatch(device: SimulatedDevice, tab: number, seed: number): Promise<string> {
  const unsynced = device.world.app.unsynced
  const collection = unsynced[seed % Math.max(1, unsynced.length)]
  if (!collection) return 'no unsynced collection'
  const random = new Random(seed)
  const { storage } = device.tab(tab)
  const registry = registryOf(storage)
  const ids = [0, 1, 2].map(() => `${device.name}-local-${++device.localWrites}`)
  await storage.storageManager.operation('executeBatch', [
    ...ids.map((id) => ({ operation: 'createObject', collection, args: { ...randomCreateValues(registry, collection, random.int(0, 2 ** 30)), id } })),
    { operation: 'updateObjects', collection, where: { id: ids[0] }, updates: randomUpdateValues(registry, collection, random.int(0, 2 ** 30)) },
  ])
  return `local batch on ${collection}: ${ids.join(', ')}`
}
