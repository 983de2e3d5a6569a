import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { convertCreateObjectDissectionToBatch, dissectCreateObjectOperation } from '@worldbrain/storex/lib/utils.js'
import { StorexBackendDexieError } from '../errors'
import { prepareCreate } from './objects'
import type { Store } from './store'
import { prepareDelete, prepareUpdate, runDelete, runUpdate, type PreparedDelete, type PreparedUpdate } from './write'

/** What executeBatch returns: the objects created under a placeholder. */
export type BatchInfo = Record<string, { object: any }>

interface PreparedCreate {
  kind: 'create'
  collection: string
  step: any
  stored: any
}

type PreparedStep = PreparedCreate | PreparedUpdate | PreparedDelete

/** Nested creates become their own createObject steps, placeholders kept (as 0.3.1's _flattenBatch). */
export function flattenBatch(batch: OperationBatch, registry: StorageRegistry): OperationBatch {
  const flattened: any[] = []
  let generated = 0
  for (const step of batch) {
    const reverse = registry.collections[step.collection]?.reverseRelationshipsByAlias
    if (step.operation !== 'createObject' || !reverse || Object.keys(reverse).length === 0) {
      // Nothing nested can be in it (the common case: dissecting would copy it for nothing).
      flattened.push(step)
      continue
    }
    let first = true
    const dissection = dissectCreateObjectOperation(step, registry, {
      generatePlaceholder: () => {
        if (first) {
          first = false
          return step.placeholder || `auto-gen:${++generated}`
        }
        return `auto-gen:${++generated}`
      },
    } as any)
    const steps = convertCreateObjectDissectionToBatch(dissection)
    // The step's own placeholder references (to objects created earlier in the batch) stay on its top object.
    const [top] = steps
    if (step.replace?.length && top) top.replace = [...(top.replace ?? []), ...step.replace]
    flattened.push(...steps)
  }
  return flattened
}

/** A flat batch (nested creates already split): prepared first, then written in ONE transaction. */
export async function runBatch(store: Store, batch: OperationBatch): Promise<{ info: BatchInfo }> {
  const prepared: PreparedStep[] = []
  for (const step of batch) {
    if (step.operation === 'createObject') {
      prepared.push({ kind: 'create', collection: step.collection, step, stored: await prepareCreate(store.options, store.info(step.collection), step.args) })
    } else if (step.operation === 'updateObjects') {
      prepared.push(await prepareUpdate(store, step.collection, step.where, step.updates))
    } else if (step.operation === 'deleteObjects') {
      prepared.push(await prepareDelete(store, step.collection, step.where))
    } else {
      throw new StorexBackendDexieError(
        'BAD_BATCH',
        `unknown batch operation ${JSON.stringify((step as any).operation)}; batches take createObject, updateObjects and deleteObjects.`,
      )
    }
  }
  const collections = [...new Set(prepared.map((step) => step.collection))]
  const placeholderCollections = new Map(batch.filter((step) => step.placeholder).map((step) => [step.placeholder!, step.collection]))
  const info: BatchInfo = {}
  await store.inTransaction(collections, async () => {
    // Consecutive creates in one collection (the common case: log entries) become one bulkPut.
    let index = 0
    while (index < prepared.length) {
      const step = prepared[index]!
      if (step.kind === 'update') {
        await runUpdate(store, step)
        index += 1
        continue
      }
      if (step.kind === 'delete') {
        await runDelete(store, step)
        index += 1
        continue
      }
      const group: PreparedCreate[] = []
      while (index < prepared.length) {
        const next = prepared[index]!
        if (next.kind !== 'create' || next.collection !== step.collection) break
        // A reference to an object of this very group needs that object's key first.
        if (group.length && next.step.replace?.some(({ placeholder }: { placeholder: string }) => group.some((member) => member.step.placeholder === placeholder))) break
        for (const { path, placeholder } of next.step.replace ?? []) {
          const created = info[placeholder]
          if (!created) {
            // Storing undefined would lose the reference without a word; the transaction rolls back instead.
            throw new StorexBackendDexieError(
              'BAD_BATCH',
              `a createObject of '${next.collection}' refers to placeholder ${JSON.stringify(placeholder)}, which no earlier createObject of the batch named; nothing of the batch was written.`,
            )
          }
          const pk = store.info(placeholderCollections.get(placeholder) ?? next.collection).pk ?? 'id'
          const value = created.object[pk]
          next.step.args[path] = value
          // The stored copy was prepared already: a relationship alias goes to its field.
          const field = store.info(next.collection).aliases.find(({ alias }) => alias === path)?.fieldName ?? path
          next.stored[field] = value
        }
        group.push(next)
        index += 1
      }
      const pk = store.info(step.collection).pk
      const keys = await store.table(step.collection).bulkPut(
        group.map((member) => member.stored),
        { allKeys: true },
      )
      group.forEach((member, position) => {
        if (pk && member.step.args[pk] === undefined) member.step.args[pk] = keys[position]
        if (member.step.placeholder) info[member.step.placeholder] = { object: member.step.args }
      })
    }
  })
  return { info }
}
