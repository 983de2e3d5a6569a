import type { CreateObjectBatchOperation, StorageRegistry } from '@worldbrain/storex'

/** One object of a (possibly nested) createObject, flattened. */
export interface NestedCreateStep {
  collection: string
  placeholder: string
  /** The object's own fields: no nested children, with the parent field filled in where the parent's pk is known. */
  args: Record<string, unknown>
  /** Index of the parent step, -1 for the root. */
  parent: number
  /** The relationship alias on the parent under which this child was given (e.g. 'emails'). */
  reverseAlias: string | null
  /** Whether the parent holds one child (singleChildOf) or an array. */
  single: boolean
  /** The field of this object that points to its parent (the relationship alias, e.g. 'user'). */
  parentField: string | null
}

/** Why a createObject cannot be flattened. */
export type NestedCreateErrorCode = 'UNKNOWN_COLLECTION' | 'UNSUPPORTED_RELATIONSHIP'

export interface FlattenCreateOptions {
  storageRegistry: StorageRegistry
  collection: string
  object: Record<string, unknown>
  /** Prefix of the placeholders of the steps (`${prefix}${index}`); unique per batch. */
  placeholderPrefix: string
  /** Called with each object's own fields before its children are visited, e.g. to give it a pk. */
  prepare?: (collection: string, args: Record<string, unknown>) => void
  /** Makes the error to throw, so each package throws its own error class. */
  error: (code: NestedCreateErrorCode, message: string) => Error
}

interface ChildOfLike {
  childOf?: string
  singleChildOf?: string
  sourceCollection: string
  alias: string
  single?: boolean
}

function isChildOf(relationship: unknown): relationship is ChildOfLike {
  const candidate = relationship as Record<string, unknown> | undefined
  return !!candidate && (typeof candidate.childOf === 'string' || typeof candidate.singleChildOf === 'string')
}

/**
 * Flattens a createObject into one step per object, as storex's own
 * dissectCreateObjectOperation does: the object, then the children given
 * under the alias of a `childOf`/`singleChildOf` relationship. Any key that
 * is a relationship alias is never a column: an empty value is dropped (as
 * storex does), objects under a `connects` alias throw
 * `UNSUPPORTED_RELATIONSHIP` (storex cannot create through it, and a
 * backend would store them as a stray column or drop them).
 */
export function flattenCreate(options: FlattenCreateOptions): NestedCreateStep[] {
  const { storageRegistry, placeholderPrefix, prepare, error } = options
  const steps: NestedCreateStep[] = []

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
      throw error(
        'UNKNOWN_COLLECTION',
        `cannot create a '${collection}' object: the collection is not registered. Register it or create the object separately.`,
      )
    }
    const reverse = (definition.reverseRelationshipsByAlias ?? {}) as Record<string, unknown>
    const args: Record<string, unknown> = {}
    const children: Array<[string, ChildOfLike, unknown]> = []
    for (const [key, value] of Object.entries(object)) {
      if (!Object.prototype.hasOwnProperty.call(reverse, key)) {
        args[key] = value
        continue
      }
      if (!value) {
        continue
      }
      const relationship = reverse[key]
      if (!isChildOf(relationship)) {
        throw error(
          'UNSUPPORTED_RELATIONSHIP',
          `'${collection}.${key}' is not a childOf relationship; Storex cannot create objects through it. Create the related objects with separate createObject calls.`,
        )
      }
      children.push([key, relationship, value])
    }
    prepare?.(collection, args)
    const index = steps.length
    if (parent >= 0 && parentField && args[parentField] === undefined) {
      const parentStep = steps[parent]!
      const parentPk = parentStep.args[singlePkField(storageRegistry, parentStep.collection) ?? '']
      if (parentPk !== undefined && parentPk !== null) {
        args[parentField] = parentPk
      }
    }
    steps.push({ collection, placeholder: `${placeholderPrefix}${index}`, args, parent, reverseAlias, single, parentField })
    for (const [alias, relationship, value] of children) {
      const isSingle = !!relationship.single || typeof relationship.singleChildOf === 'string'
      const list = isSingle || !Array.isArray(value) ? [value] : value
      for (const child of list) {
        visit(relationship.sourceCollection, child as Record<string, unknown>, index, alias, isSingle, relationship.alias)
      }
    }
  }

  visit(options.collection, options.object, -1, null, false, null)
  return steps
}

function singlePkField(storageRegistry: StorageRegistry, collection: string): string | null {
  const pkIndex = storageRegistry.collections[collection]?.pkIndex ?? 'id'
  return typeof pkIndex === 'string' ? pkIndex : null
}

/**
 * The steps as executeBatch steps. A child whose parent's pk was not known
 * up front gets it through a placeholder replacement.
 */
export function nestedCreateBatch(steps: NestedCreateStep[]): Array<CreateObjectBatchOperation & { placeholder: string }> {
  return steps.map((step) => {
    const operation: CreateObjectBatchOperation & { placeholder: string } = {
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

/** The nested object the caller passed, rebuilt from what the backend stored for each step (executeBatch's `info`). */
export function rebuildNestedCreate(
  steps: NestedCreateStep[],
  info: Record<string, { object?: Record<string, unknown> } | undefined>,
): Record<string, unknown> {
  const nodes: Array<Record<string, unknown>> = []
  for (const step of steps) {
    const node: Record<string, unknown> = { ...step.args, ...(info[step.placeholder]?.object ?? {}) }
    nodes.push(node)
    if (step.parent < 0 || !step.reverseAlias) {
      continue
    }
    const parent = nodes[step.parent]!
    if (step.single) {
      parent[step.reverseAlias] = node
    } else {
      parent[step.reverseAlias] = [...((parent[step.reverseAlias] as unknown[] | undefined) ?? []), node]
    }
  }
  return nodes[0]!
}
