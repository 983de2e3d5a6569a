import { describe, expect, it } from 'vitest'
import { StorageRegistry } from '@worldbrain/storex'
import {
  KeyedMutex,
  Mutex,
  StorageManager,
  WRITE_OPERATIONS,
  flattenCreate,
  isWriteOperation,
  nestedCreateBatch,
  rebuildNestedCreate,
  type NestedCreateErrorCode,
} from '../src'

class GlueTestError extends Error {
  constructor(readonly code: NestedCreateErrorCode, message: string) {
    super(message)
  }
}
const error = (code: NestedCreateErrorCode, message: string) => new GlueTestError(code, message)

async function registry() {
  const storageRegistry = new StorageRegistry()
  const version = new Date('2020-01-01')
  storageRegistry.registerCollections({
    user: { version, fields: { name: { type: 'string' } } },
    email: { version, fields: { address: { type: 'string' } }, relationships: [{ childOf: 'user', reverseAlias: 'emails' }] },
    profile: { version, fields: { bio: { type: 'string' } }, relationships: [{ singleChildOf: 'user', reverseAlias: 'profile' }] },
    tag: { version, fields: { label: { type: 'string' } } },
    userTag: { version, fields: {}, relationships: [{ connects: ['user', 'tag'], reverseAliases: ['tags', 'users'] } as any] },
  })
  await storageRegistry.finishInitialization()
  return storageRegistry
}

describe('StorageManager', () => {
  it('is the class, whatever shape the CommonJS module arrives in', () => {
    expect(typeof StorageManager).toBe('function')
    expect(StorageManager.prototype.finishInitialization).toBeTypeOf('function')
  })
})

describe('write operations', () => {
  it('lists every storex operation that changes data, and nothing that reads', () => {
    expect([...WRITE_OPERATIONS].sort()).toEqual(
      ['createObject', 'deleteObject', 'deleteObjects', 'executeBatch', 'updateObject', 'updateObjects'].sort(),
    )
    expect(isWriteOperation('findObjects')).toBe(false)
    expect(isWriteOperation('countObjects')).toBe(false)
  })
})

describe('Mutex and KeyedMutex', () => {
  it('runs tasks of one key in call order, and a failing task does not block the next', async () => {
    const mutex = new Mutex()
    const order: string[] = []
    const slow = mutex.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      order.push('slow')
      throw new Error('boom')
    })
    const fast = mutex.run(async () => {
      order.push('fast')
      return 1
    })
    await expect(slow).rejects.toThrow('boom')
    await expect(fast).resolves.toBe(1)
    expect(order).toEqual(['slow', 'fast'])
  })

  it('runs different keys independently and forgets idle keys', async () => {
    const mutex = new KeyedMutex()
    const order: string[] = []
    let release!: () => void
    const blocked = mutex.run('a', () => new Promise<void>((resolve) => (release = resolve)).then(() => void order.push('a')))
    await mutex.run('b', async () => void order.push('b'))
    expect(order).toEqual(['b'])
    release()
    await blocked
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(order).toEqual(['b', 'a'])
    expect(mutex.size).toBe(0)
  })
})

describe('flattenCreate', () => {
  it('flattens childOf and singleChildOf children, filling the parent field when the parent pk is known', async () => {
    const storageRegistry = await registry()
    const steps = flattenCreate({
      storageRegistry,
      collection: 'user',
      object: { name: 'joe', emails: [{ address: 'a@x' }, { address: 'b@x' }], profile: { bio: 'hi' } },
      placeholderPrefix: 'p:',
      prepare: (collection, args) => {
        args.id = `${collection}-${Object.keys(args).length}`
      },
      error,
    })
    expect(steps.map((step) => [step.collection, step.parent, step.reverseAlias, step.single])).toEqual([
      ['user', -1, null, false],
      ['email', 0, 'emails', false],
      ['email', 0, 'emails', false],
      ['profile', 0, 'profile', true],
    ])
    expect(steps[1]!.args).toEqual({ address: 'a@x', id: 'email-1', user: 'user-1' })
    expect(nestedCreateBatch(steps).every((step) => !step.replace)).toBe(true)
    const rebuilt = rebuildNestedCreate(steps, { 'p:0': { object: { id: 'user-1', name: 'joe' } } })
    expect(rebuilt).toMatchObject({ id: 'user-1', emails: [{ address: 'a@x' }, { address: 'b@x' }], profile: { bio: 'hi' } })
  })

  it('refers to a parent whose pk is not known yet through a placeholder', async () => {
    const steps = flattenCreate({
      storageRegistry: await registry(),
      collection: 'user',
      object: { name: 'joe', emails: [{ address: 'a@x' }] },
      placeholderPrefix: 'p:',
      error,
    })
    expect(nestedCreateBatch(steps)[1]!.replace).toEqual([{ path: 'user', placeholder: 'p:0' }])
  })

  it('never stores a relationship alias as a column: empty values are dropped', async () => {
    const steps = flattenCreate({
      storageRegistry: await registry(),
      collection: 'user',
      object: { name: 'joe', emails: null, profile: undefined, tags: null },
      placeholderPrefix: 'p:',
      error,
    })
    expect(steps.map((step) => step.args)).toEqual([{ name: 'joe' }])
  })

  it('refuses objects given under a connects alias, as storex itself does', async () => {
    const storageRegistry = await registry()
    for (const tags of [[{ label: 'x' }], []]) {
      const flatten = () =>
        flattenCreate({ storageRegistry, collection: 'user', object: { name: 'joe', tags }, placeholderPrefix: 'p:', error })
      expect(flatten).toThrow(GlueTestError)
      expect(flatten).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_RELATIONSHIP', message: expect.stringContaining("'user.tags'") }))
    }
  })

  it('names an unregistered collection', async () => {
    const flatten = () =>
      flattenCreate({ storageRegistry: new StorageRegistry(), collection: 'ghost', object: {}, placeholderPrefix: 'p:', error })
    expect(flatten).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLLECTION' }))
  })
})
