import type { CreateObjectBatchOperation, StorageRegistry } from '@worldbrain/storex'
import { getPkFields } from '@storex-sync/client-sync-log'

/** One object of a (possibly nested) createObject. */
export interface FlatCreate {
  step: CreateObjectBatchOperation & { placeholder: string }
  /** Index of the parent object, -1 for the root. */
  parent: number
  /** Where the child sat in its parent ('emails'), and whether it was a single child. */
  reverseAlias: string | null
  single: boolean
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
 * Flattens a createObject into one createObject step per object (the parent,
 * then its `childOf` children given under their reverse relationship alias),
 * as storex itself does for nested creates. A child's parent field gets the
 * parent's pk directly when the parent's pk is known, else a placeholder
 * replacement.
 */
export function flattenCreate(
  storageRegistry: StorageRegistry,
  collection: string,
  object: Record<string, unknown>,
  placeholderPrefix: string,
): FlatCreate[] {
  const flat: FlatCreate[] = []
  const visit = (
    currentCollection: string,
    current: Record<string, unknown>,
    parent: number,
    reverseAlias: string | null,
    single: boolean,
    parentField: string | null,
  ) => {
    const definition = storageRegistry.collections[currentCollection]
    const reverse = (definition?.reverseRelationshipsByAlias ?? {}) as Record<string, unknown>
    const args: Record<string, unknown> = {}
    const children: Array<[string, ChildOfLike, unknown]> = []
    for (const [key, value] of Object.entries(current)) {
      const relationship = reverse[key]
      if (relationship !== undefined && isChildOf(relationship)) {
        if (value !== undefined && value !== null) {
          children.push([key, relationship, value])
        }
      } else {
        args[key] = value
      }
    }
    const placeholder = `${placeholderPrefix}${flat.length}`
    const step: FlatCreate['step'] = { operation: 'createObject', collection: currentCollection, placeholder, args }
    if (parent >= 0 && parentField && args[parentField] === undefined) {
      const parentStep = flat[parent]!.step
      const parentPkFields = getPkFields(storageRegistry, parentStep.collection)
      const parentPk = parentPkFields.length === 1 ? parentStep.args[parentPkFields[0]!] : undefined
      if (parentPk !== undefined && parentPk !== null) {
        args[parentField] = parentPk
      } else {
        step.replace = [{ path: parentField, placeholder: parentStep.placeholder }]
      }
    }
    const index = flat.length
    flat.push({ step, parent, reverseAlias, single })
    for (const [alias, relationship, value] of children) {
      const isSingle = !!relationship.single || typeof relationship.singleChildOf === 'string'
      const list = isSingle || !Array.isArray(value) ? [value] : value
      for (const child of list) {
        visit(relationship.sourceCollection, child as Record<string, unknown>, index, alias, isSingle, relationship.alias)
      }
    }
  }
  visit(collection, object, -1, null, false, null)
  return flat
}

/** The object the caller passed, with what the backend stored for each part. */
export function rebuildCreated(flat: FlatCreate[], info: Record<string, { object?: Record<string, unknown> } | undefined>) {
  const nodes: Array<Record<string, unknown>> = []
  for (const item of flat) {
    const node = { ...item.step.args, ...(info[item.step.placeholder]?.object ?? {}) }
    nodes.push(node)
    if (item.parent < 0 || !item.reverseAlias) {
      continue
    }
    const parent = nodes[item.parent]!
    if (item.single) {
      parent[item.reverseAlias] = node
    } else {
      parent[item.reverseAlias] = [...((parent[item.reverseAlias] as unknown[] | undefined) ?? []), node]
    }
  }
  return nodes[0]!
}
