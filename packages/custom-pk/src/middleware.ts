import type { OperationBatch, StorageRegistry } from '@worldbrain/storex'
import { nanoid } from 'nanoid'
import { CustomPkError } from './errors'
import {
  flattenCreate,
  isWriteOperation,
  nestedCreateBatch,
  rebuildNestedCreate,
  type NestedCreateStep,
  type StorageMiddlewareContext,
} from '@storex-sync/storex-glue'

/** Returns a new, globally unique primary key. Called once per created object. */
export type CustomPkGenerator = () => string

export interface CustomAutoPkMiddlewareOptions {
  /** Generates a pk for every created object. Default: `nanoid()` (21 URL-safe characters). */
  pkGenerator?: CustomPkGenerator
}

export interface CustomAutoPkSetupOptions {
  storageRegistry: StorageRegistry
  /**
   * Collections whose new objects get a generated string pk. Each must have a
   * single pk field of type `auto-pk` (the default `id`) or `string`.
   */
  collections: string[]
}

export type { StorageMiddlewareContext }

/** Pk field types a generated string id fits: the default `auto-pk`, and a declared `string` field. */
const GENERATED_PK_TYPES = new Set(['auto-pk', 'string'])

/**
 * A Storex middleware that gives every object created in the configured
 * collections a random string pk instead of a backend auto-increment, so
 * objects created on different devices never collide. Covers plain
 * `createObject`, child objects created through `childOf` relationships in the
 * same `createObject`, and `createObject` steps of `executeBatch`. Pks given
 * by the caller are kept.
 */
export class CustomAutoPkMiddleware {
  private readonly pkGenerator: CustomPkGenerator
  private storageRegistry: StorageRegistry | null = null
  /** Configured collection name -> its pk field. */
  private pkFields: Map<string, string> | null = null

  constructor(options: CustomAutoPkMiddlewareOptions = {}) {
    if (options.pkGenerator !== undefined && typeof options.pkGenerator !== 'function') {
      throw new CustomPkError(
        'INVALID_OPTION',
        `pkGenerator must be a function returning a string, got ${typeof options.pkGenerator}. Pass e.g. { pkGenerator: () => crypto.randomUUID() } or leave it out to use nanoid().`,
      )
    }
    this.pkGenerator = options.pkGenerator ?? (() => nanoid())
  }

  /**
   * Chooses the collections that get generated pks. Call it once the
   * collections are registered (before or after `finishInitialization()`),
   * and before the first write. Returns the middleware, so it can be chained.
   */
  setup(options: CustomAutoPkSetupOptions): this {
    const { storageRegistry, collections } = options ?? ({} as CustomAutoPkSetupOptions)
    if (!storageRegistry || typeof storageRegistry !== 'object' || !storageRegistry.collections) {
      throw new CustomPkError(
        'INVALID_OPTION',
        'setup() needs { storageRegistry, collections }: pass storageManager.registry as storageRegistry.',
      )
    }
    if (!Array.isArray(collections)) {
      throw new CustomPkError('INVALID_OPTION', 'setup() needs `collections`, an array of collection names.')
    }
    const pkFields = new Map<string, string>()
    for (const collection of collections) {
      const definition = storageRegistry.collections[collection]
      if (!definition) {
        const known = Object.keys(storageRegistry.collections).sort().join(', ') || '(none)'
        throw new CustomPkError(
          'UNKNOWN_COLLECTION',
          `collection '${collection}' is not registered in the storage registry (registered: ${known}). Register it before calling setup(), or remove it from \`collections\`.`,
        )
      }
      const pkIndex = definition.pkIndex
      const pkField = typeof pkIndex === 'string' ? definition.fields[pkIndex] : undefined
      if (typeof pkIndex !== 'string' || !pkField || !GENERATED_PK_TYPES.has(pkField.type)) {
        throw new CustomPkError(
          'UNSUPPORTED_PK',
          `collection '${collection}' does not have a single pk field that can hold a generated string id (pkIndex: ${JSON.stringify(pkIndex)}, type: ${JSON.stringify(pkField?.type ?? null)}). Only collections whose pk is one 'auto-pk' field (the default 'id') or one 'string' field can get generated ids; remove '${collection}' from \`collections\` and give its objects their pks yourself.`,
        )
      }
      pkFields.set(collection, pkIndex)
    }
    this.storageRegistry = storageRegistry
    this.pkFields = pkFields
    return this
  }

  async process(context: StorageMiddlewareContext): Promise<any> {
    const { operation, next } = context
    const operationName = operation[0] as string
    if (!this.pkFields || !this.storageRegistry) {
      if (isWriteOperation(operationName)) {
        throw new CustomPkError(
          'SETUP_NOT_CALLED',
          `'${operationName}' ran before CustomAutoPkMiddleware.setup(). Call pkMiddleware.setup({ storageRegistry: storageManager.registry, collections: [...] }) before the first write.`,
        )
      }
      return next.process({ operation })
    }
    if (operationName === 'createObject') {
      return this.processCreateObject(context)
    }
    if (operationName === 'executeBatch') {
      return this.processExecuteBatch(context)
    }
    return next.process({ operation })
  }

  private generatePk = (collection: string): string => {
    const pk = this.pkGenerator()
    if (typeof pk !== 'string' || pk.length === 0) {
      throw new CustomPkError(
        'INVALID_PK',
        `pkGenerator returned ${JSON.stringify(pk)} for a new '${collection}' object; it must return a non-empty string. Fix the pkGenerator passed to CustomAutoPkMiddleware.`,
      )
    }
    return pk
  }

  private dissect(collection: string, object: Record<string, unknown>, placeholderPrefix: string): NestedCreateStep[] {
    const pkFields = this.pkFields!
    return flattenCreate({
      storageRegistry: this.storageRegistry!,
      collection,
      object,
      placeholderPrefix,
      prepare: (stepCollection, args) => {
        const pkField = pkFields.get(stepCollection)
        if (pkField && (args[pkField] === undefined || args[pkField] === null)) {
          args[pkField] = this.generatePk(stepCollection)
        }
      },
      error: (code, message) => new CustomPkError(code, message),
    })
  }

  /** True if any step belongs to a collection this middleware assigns pks for. */
  private hasCustomPkStep(steps: NestedCreateStep[]): boolean {
    return steps.some((step) => this.pkFields!.has(step.collection))
  }

  private async processCreateObject({ operation, next }: StorageMiddlewareContext) {
    const [, collection, object, ...rest] = operation as [string, string, Record<string, unknown>, ...unknown[]]
    if (!object || typeof object !== 'object' || !this.storageRegistry!.collections[collection]) {
      return next.process({ operation })
    }
    const steps = this.dissect(collection, object, 'custom-pk:')
    if (!this.hasCustomPkStep(steps)) {
      return next.process({ operation })
    }
    if (steps.length === 1) {
      const [step] = steps
      return next.process({ operation: ['createObject', collection, step!.args, ...rest] })
    }
    // Children created through relationships: one batch, so every object gets
    // its pk from us and the whole tree is written atomically.
    const result = await next.process({ operation: ['executeBatch', nestedCreateBatch(steps)] })
    return { object: rebuildNestedCreate(steps, result?.info ?? {}) }
  }

  private async processExecuteBatch({ operation, next }: StorageMiddlewareContext) {
    const [, batch, ...rest] = operation as [string, OperationBatch, ...unknown[]]
    if (!Array.isArray(batch)) {
      return next.process({ operation })
    }
    let changed = false
    const converted: OperationBatch = []
    batch.forEach((step, index) => {
      if (
        step?.operation !== 'createObject' ||
        !step.args ||
        typeof step.args !== 'object' ||
        Array.isArray(step.args) ||
        !this.storageRegistry!.collections[step.collection]
      ) {
        converted.push(step)
        return
      }
      const steps = this.dissect(step.collection, step.args, `custom-pk:${index}:`)
      if (!this.hasCustomPkStep(steps) && steps.length === 1) {
        converted.push(step)
        return
      }
      changed = true
      const [root, ...children] = nestedCreateBatch(steps)
      const rootStep: OperationBatch[number] = { ...step, args: root!.args }
      if (!step.placeholder && children.length > 0) {
        rootStep.placeholder = root!.placeholder
      }
      converted.push(rootStep)
      for (const child of children) {
        // Children of a step the caller named refer to it by the caller's placeholder.
        const replace = child.replace?.map((item) =>
          item.placeholder === root!.placeholder && step.placeholder
            ? { ...item, placeholder: step.placeholder }
            : item,
        )
        converted.push(replace ? { ...child, replace } : child)
      }
    })
    return next.process({ operation: changed ? ['executeBatch', converted, ...rest] : operation })
  }
}
