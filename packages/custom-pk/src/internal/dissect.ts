import type { CreateObjectBatchOperation, StorageRegistry } from '@worldbrain/storex'
import { CustomPkError } from '../errors'

/** One object of a (possibly nested) createObject, flattened. */
export interface CreateStep {
  collection: string
  placeholder: string
  /** The object's own fields (no nested children), with the pk filled in where we own it. */
  args: Record<string, unknown>
  /** Index of the parent step, -1 for the root. */
  parent: number
  /** Relationship alias on the parent under which this child was given (e.g. 'emails'). */
  reverseAlias: string | null
  /** Whether the parent holds one child (singleChildOf) or an array. */
  single: boolean
  /** The field of this object that points to its parent (the relationship alias, e.g. 'user'). */
  parentField: string | null
}

interface ChildOfRelationshipLike {
  childOf?: string
  singleChildOf?: string
  sourceCollection: string
  alias: string
  single?: boolean
}

function isChildOf(relationship: unknown): relationship is ChildOfRelationshipLike {
  const candidate = relationship as Record<string, unknown>
  return !!candidate && (typeof candidate.childOf === 'string' || typeof candidate.singleChildOf === 'string')
}

/**
 * Flattens a createObject into one step per object, like storex's
 * dissectCreateObjectOperation, and assigns pks on the way: objects of
 * configured collections without a pk get a generated one, and a child whose
 * parent's pk is known gets it directly in its parent field (no placeholder
 * replacement needed, so later middleware sees complete objects).
 */
export function dissectCreate(options: {
  storageRegistry: StorageRegistry
  pkFields: Map<string, string>
  collection: string
  object: Record<string, unknown>
  generatePk: (collection: string) => string
  placeholderPrefix: string
}): CreateStep[] {
  const { storageRegistry, pkFields, generatePk, placeholderPrefix } = options
  const steps: CreateStep[] = []

  const visit = (
    collection: string,
    object: Record<string, unknown>,
    parent: number,
    reverseAlias: string | null,
    single: boolean,
    parentField: string | null,
  ) => {
    const definition = storageRegistry.collections[collection]
    if (!definition) {
      throw new CustomPkError(
        'UNKNOWN_COLLECTION',
        `cannot create a nested '${collection}' object: the collection is not registered. Register it or create the object separately.`,
      )
    }
    const reverse = (definition.reverseRelationshipsByAlias ?? {}) as Record<string, unknown>
    const args: Record<string, unknown> = {}
    const nested: Array<[string, unknown]> = []
    for (const [key, value] of Object.entries(object)) {
      if (Object.prototype.hasOwnProperty.call(reverse, key)) {
        nested.push([key, value])
      } else {
        args[key] = value
      }
    }
    const pkField = pkFields.get(collection)
    if (pkField && (args[pkField] === undefined || args[pkField] === null)) {
      args[pkField] = generatePk(collection)
    }
    const index = steps.length
    steps.push({
      collection,
      placeholder: `${placeholderPrefix}${index}`,
      args,
      parent,
      reverseAlias,
      single,
      parentField,
    })
    if (parent >= 0 && parentField) {
      const parentStep = steps[parent]!
      const parentPk = parentStep.args[getPkField(storageRegistry, parentStep.collection)]
      if (parentPk !== undefined && parentPk !== null && args[parentField] === undefined) {
        args[parentField] = parentPk
      }
    }
    for (const [alias, value] of nested) {
      if (!value) {
        continue
      }
      const relationship = reverse[alias]
      if (!isChildOf(relationship)) {
        throw new CustomPkError(
          'UNSUPPORTED_RELATIONSHIP',
          `'${collection}.${alias}' is not a childOf relationship; Storex cannot create objects through it. Create the related objects with separate createObject calls.`,
        )
      }
      const isSingle = !!relationship.single || typeof relationship.singleChildOf === 'string'
      const children = isSingle ? [value] : Array.isArray(value) ? value : [value]
      for (const child of children) {
        visit(relationship.sourceCollection, child as Record<string, unknown>, index, alias, isSingle, relationship.alias)
      }
    }
  }

  visit(options.collection, options.object, -1, null, false, null)
  return steps
}

function getPkField(storageRegistry: StorageRegistry, collection: string): string {
  const pkIndex = storageRegistry.collections[collection]?.pkIndex
  return typeof pkIndex === 'string' ? pkIndex : 'id'
}

/** True if any step belongs to a collection this middleware assigns pks for. */
export function hasCustomPkStep(steps: CreateStep[], pkFields: Map<string, string>): boolean {
  return steps.some((step) => pkFields.has(step.collection))
}

/** The steps as an executeBatch; placeholders replace only parent pks we could not know up front. */
export function stepsToBatch(steps: CreateStep[]): CreateObjectBatchOperation[] {
  return steps.map((step) => {
    const operation: CreateObjectBatchOperation = {
      operation: 'createObject',
      collection: step.collection,
      placeholder: step.placeholder,
      args: step.args,
    }
    if (step.parent >= 0 && step.parentField && step.args[step.parentField] === undefined) {
      operation.replace = [{ path: step.parentField, placeholder: steps[step.parent]!.placeholder }]
    }
    return operation
  })
}

/** Rebuilds the nested object the caller passed, from what the backend stored for each step. */
export function reconstructCreatedObject(
  steps: CreateStep[],
  info: Record<string, { object?: Record<string, unknown> } | undefined>,
): Record<string, unknown> {
  const nodes: Array<Record<string, unknown>> = []
  steps.forEach((step) => {
    const stored = info[step.placeholder]?.object
    const node: Record<string, unknown> = { ...step.args, ...(stored ?? {}) }
    nodes.push(node)
    if (step.parent < 0 || !step.reverseAlias) {
      return
    }
    const parent = nodes[step.parent]!
    if (step.single) {
      parent[step.reverseAlias] = node
    } else {
      const list = (parent[step.reverseAlias] as unknown[] | undefined) ?? []
      list.push(node)
      parent[step.reverseAlias] = list
    }
  })
  return nodes[0]!
}
