import { StorexBackendSqlError } from '../errors'
import { deleteGen } from './delete'
import type { Dialect } from './dialect'
import { insertColumns } from './insert'
import type { Inserts } from './insert'
import type { Gen } from './runner'
import type { CollectionInfo } from './schema'
import { updateGen, updateManyGen } from './update'
import { resultObject } from './values'

/** What executeBatch returns: the objects created under a placeholder. */
export type BatchInfo = Record<string, { object: any }>

/** Consecutive updates by pk (same collection, same fields) or deletes by pk, written as one statement. */
interface Group {
  kind: 'update' | 'delete'
  info: CollectionInfo
  /** The update's sorted field names ('' for deletes): only equal keys group. */
  keys: string
  operations: any[]
  pks: Set<unknown>
}

/**
 * The statements of a batch, in its order: consecutive creates in one
 * collection that carry their pks become multi-row INSERTs, consecutive
 * updates and deletes by pk become one statement each. `setCurrent` is told
 * the collection each statement writes (to name it in errors).
 */
export function* batchGen(
  dialect: Dialect,
  inserts: Inserts,
  batch: Array<{ operation: any; info: CollectionInfo }>,
  setCurrent: (collection: string) => void,
): Gen<BatchInfo> {
  const writer = new BatchWriter(dialect, inserts, setCurrent)
  for (const [position, { operation, info }] of batch.entries()) {
    if (operation.operation === 'createObject') {
      yield* writer.create(operation, info, position)
    } else if (operation.operation === 'updateObjects' || operation.operation === 'deleteObjects') {
      yield* writer.updateOrDelete(operation, info)
    } else {
      throw new StorexBackendSqlError(
        'BAD_BATCH',
        `batch operation ${position} is ${JSON.stringify(operation.operation)}; use createObject, updateObjects or deleteObjects`,
      )
    }
  }
  yield* writer.flush()
  return writer.created
}

class BatchWriter {
  readonly created: BatchInfo = {}
  /** The pk field of each placeholder's object. */
  private readonly pkKeyOf: Record<string, string> = {}
  /** Creates with their pks waiting to go into one multi-row INSERT. */
  private pendingInfo: CollectionInfo | null = null
  private pending: any[] = []
  private group: Group | null = null

  constructor(
    private readonly dialect: Dialect,
    private readonly inserts: Inserts,
    private readonly setCurrent: (collection: string) => void,
  ) {}

  *create(operation: any, info: CollectionInfo, position: number): Gen<void> {
    const object = this.withReplacements(operation, position)
    yield* this.flushGroup()
    const { generate } = insertColumns(info, object)
    if (generate) {
      // The database makes the pk, which later operations may need: insert now.
      yield* this.flush()
      this.setCurrent(info.name)
      const created = yield* this.inserts.create(info, object)
      this.remember(operation.placeholder, info, created)
      return
    }
    if (this.pendingInfo !== info) {
      yield* this.flush()
      this.pendingInfo = info
    }
    this.pending.push(object)
    this.remember(operation.placeholder, info, resultObject(info, object))
  }

  *updateOrDelete(operation: any, info: CollectionInfo): Gen<void> {
    const kind = operation.operation === 'updateObjects' ? 'update' : 'delete'
    const pk = singlePkValue(info, operation.where)
    const keys = kind === 'update' ? updateKeys(info, operation.updates) : ''
    if (pk === undefined || keys === null) {
      yield* this.flush()
      this.setCurrent(info.name)
      if (kind === 'update') yield* updateGen(this.dialect, info, operation.where, operation.updates)
      else yield* deleteGen(this.dialect, info, operation.where)
      return
    }
    let group = this.group
    if (!group || group.kind !== kind || group.info !== info || group.keys !== keys || group.pks.has(pk)) {
      yield* this.flush()
      group = this.group = { kind, info, keys, operations: [], pks: new Set() }
    }
    group.operations.push(operation)
    group.pks.add(pk)
  }

  /** Writes what is waiting (a group, or creates). */
  *flush(): Gen<void> {
    yield* this.flushGroup()
    const info = this.pendingInfo
    const pending = this.pending
    this.pendingInfo = null
    this.pending = []
    if (!info || !pending.length) return
    this.setCurrent(info.name)
    if (pending.length === 1) {
      yield* this.inserts.create(info, pending[0])
    } else {
      yield* this.inserts.createMany(info, pending)
    }
  }

  private *flushGroup(): Gen<void> {
    const group = this.group
    this.group = null
    if (!group) return
    this.setCurrent(group.info.name)
    const [first, ...rest] = group.operations
    if (group.kind === 'delete') {
      const pkKey = group.info.pkColumns[0]!.key // grouped by pk: there is exactly one pk column
      yield* deleteGen(this.dialect, group.info, rest.length ? { [pkKey]: { $in: [...group.pks] } } : first.where)
    } else if (!rest.length) {
      yield* updateGen(this.dialect, group.info, first.where, first.updates)
    } else {
      yield* updateManyGen(this.dialect, group.info, group.operations)
    }
  }

  /** The create's object with the pks of earlier placeholders put in (`replace: [{ path, placeholder }]`). */
  private withReplacements(operation: any, position: number): any {
    if (!operation.replace?.length) return operation.args
    const object = { ...operation.args }
    for (const replacement of operation.replace) {
      const source = this.created[replacement.placeholder]
      const pkKey = this.pkKeyOf[replacement.placeholder]
      if (!source || pkKey === undefined) {
        throw new StorexBackendSqlError(
          'BAD_BATCH',
          `batch operation ${position} refers to placeholder ${JSON.stringify(replacement.placeholder)}, which no earlier createObject named`,
        )
      }
      object[replacement.path] = source.object[pkKey]
    }
    return object
  }

  private remember(placeholder: string | undefined, info: CollectionInfo, object: any) {
    if (!placeholder) return
    this.created[placeholder] = { object }
    this.pkKeyOf[placeholder] = info.pkColumns[0]?.key ?? 'id'
  }
}

/** The pk value when `where` names exactly one object by its single-column pk, else undefined. */
function singlePkValue(info: CollectionInfo, where: any): unknown {
  const pkColumn = info.pkColumns.length === 1 ? info.pkColumns[0] : undefined
  if (!pkColumn || !where || typeof where !== 'object') return undefined
  let value: unknown
  let count = 0
  for (const key in where) {
    if (key !== pkColumn.key || ++count > 1) return undefined
    value = where[key]
  }
  return typeof value === 'string' || typeof value === 'number' ? value : undefined
}

/** The sorted field list of plain updates (a group key), or null when they cannot be grouped. */
function updateKeys(info: CollectionInfo, updates: any): string | null {
  if (!updates || typeof updates !== 'object') return null
  const keys: string[] = []
  for (const key in updates) {
    const column = info.byKey.get(key)
    if (!column || column.isPk || updates[key] === undefined) return null
    keys.push(key)
  }
  return keys.length ? keys.sort().join('\u0000') : null
}
