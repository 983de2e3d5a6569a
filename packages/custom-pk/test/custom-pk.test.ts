import { afterEach, describe, expect, it } from 'vitest'
import { clientBackends, type StorageManagerInstance, type TestStorage } from '@storex-sync/test-backends'
import { CustomAutoPkMiddleware, CustomPkError } from '@storex-sync/custom-pk'

const version = new Date('2019-01-01')

function registerCollections(storageManager: StorageManagerInstance) {
  storageManager.registry.registerCollections({
    user: {
      version,
      fields: { displayName: { type: 'string' } },
    },
    email: {
      version,
      fields: { address: { type: 'string' } },
      relationships: [{ childOf: 'user' }],
    },
    profile: {
      version,
      fields: { bio: { type: 'string' } },
      relationships: [{ singleChildOf: 'user' }],
    },
    // Its pk is a declared string field: custom-pk fills it in when configured, the app gives it otherwise.
    tag: {
      version,
      fields: { name: { type: 'string' }, color: { type: 'string' } },
      indices: [{ field: 'name', pk: true }],
      pkIndex: 'name',
    },
    // A declared string pk named like the default one.
    doc: {
      version,
      fields: { id: { type: 'string' }, text: { type: 'string' } },
      indices: [{ field: 'id', pk: true }],
      pkIndex: 'id',
    },
    // A many-to-many link: storex cannot create the linked objects through it.
    userDoc: {
      version,
      fields: {},
      relationships: [{ connects: ['user', 'doc'], reverseAliases: ['docs', 'users'] }],
    },
    // An int pk cannot hold a generated string id.
    counter: {
      version,
      fields: { n: { type: 'int' }, label: { type: 'string' } },
      indices: [{ field: 'n', pk: true }],
      pkIndex: 'n',
    },
  } as any)
}

/** A middleware after custom-pk that records what reaches the next layer (e.g. the sync logging middleware). */
function recorder() {
  const seen: any[][] = []
  return {
    seen,
    middleware: {
      process: ({ operation, next }: any) => {
        seen.push(operation)
        return next.process({ operation })
      },
    },
  }
}

function counterGenerator(prefix = 'pk') {
  let counter = 0
  return () => `${prefix}-${++counter}`
}

describe.each(clientBackends)('CustomAutoPkMiddleware on $kind', ({ create }) => {
  let storage: TestStorage | null = null
  afterEach(async () => {
    await storage?.cleanup()
    storage = null
  })

  async function setupTest(options: { pkGenerator?: () => string; collections?: string[] } = {}) {
    storage = await create({ setup: registerCollections })
    const { storageManager } = storage
    const pkMiddleware = new CustomAutoPkMiddleware(
      options.pkGenerator ? { pkGenerator: options.pkGenerator } : {},
    ).setup({
      storageRegistry: storageManager.registry,
      collections: options.collections ?? ['user', 'email', 'profile'],
    })
    const rec = recorder()
    storageManager.setMiddleware([pkMiddleware, rec.middleware])
    return { storageManager, seen: rec.seen }
  }

  it('gives a simple createObject the generated pk', async () => {
    const { storageManager } = await setupTest({ pkGenerator: () => 'some-pk' })
    const { object } = await storageManager.collection('user').createObject({ displayName: 'Joe' })
    expect(object.id).toBe('some-pk')
    expect(await storageManager.collection('user').findOneObject({ id: 'some-pk' })).toEqual({
      id: 'some-pk',
      displayName: 'Joe',
    })
  })

  it('uses nanoid by default: distinct 21-character URL-safe ids', async () => {
    const { storageManager } = await setupTest()
    const { object: first } = await storageManager.collection('user').createObject({ displayName: 'Joe' })
    const { object: second } = await storageManager.collection('user').createObject({ displayName: 'Jane' })
    expect(first.id).toMatch(/^[A-Za-z0-9_-]{21}$/)
    expect(second.id).toMatch(/^[A-Za-z0-9_-]{21}$/)
    expect(first.id).not.toBe(second.id)
    const users = await storageManager.collection('user').findObjects({})
    expect(users.map((user: any) => user.id).sort()).toEqual([first.id, second.id].sort())
  })

  it('keeps a pk given by the caller', async () => {
    const { storageManager } = await setupTest({ pkGenerator: () => 'generated' })
    const { object } = await storageManager.collection('user').createObject({ id: 'mine', displayName: 'Joe' })
    expect(object.id).toBe('mine')
    expect(await storageManager.collection('user').findObjects({})).toEqual([{ id: 'mine', displayName: 'Joe' }])
  })

  it('does not change the object the caller passed', async () => {
    const { storageManager } = await setupTest({ pkGenerator: () => 'generated' })
    const input = { displayName: 'Joe' }
    await storageManager.collection('user').createObject(input)
    expect(input).toEqual({ displayName: 'Joe' })
  })

  it('gives nested children created through childOf relationships their own pks', async () => {
    const { storageManager, seen } = await setupTest({ pkGenerator: counterGenerator() })
    const { object: user } = await storageManager.collection('user').createObject({
      displayName: 'Joe',
      emails: [{ address: 'foo@bla.com' }, { address: 'bar@bla.com' }],
      profile: { bio: 'hi' },
    })
    expect(user).toEqual({
      id: 'pk-1',
      displayName: 'Joe',
      emails: [
        expect.objectContaining({ id: 'pk-2', address: 'foo@bla.com', user: 'pk-1' }),
        expect.objectContaining({ id: 'pk-3', address: 'bar@bla.com', user: 'pk-1' }),
      ],
      profile: expect.objectContaining({ id: 'pk-4', bio: 'hi', user: 'pk-1' }),
    })
    expect(await storageManager.collection('user').findOneObject({ id: 'pk-1' })).toEqual({ id: 'pk-1', displayName: 'Joe' })
    const emails = await storageManager.collection('email').findObjects({ user: 'pk-1' })
    expect(emails.sort((a: any, b: any) => a.id.localeCompare(b.id))).toEqual([
      { id: 'pk-2', user: 'pk-1', address: 'foo@bla.com' },
      { id: 'pk-3', user: 'pk-1', address: 'bar@bla.com' },
    ])
    expect(await storageManager.collection('profile').findOneObject({ user: 'pk-1' })).toEqual({
      id: 'pk-4',
      user: 'pk-1',
      bio: 'hi',
    })
    // The next layer (e.g. the sync logger) sees flat, complete objects with their pks and parent links.
    const writes = seen.filter((operation) => !operation[0].startsWith('find'))
    expect(writes).toHaveLength(1)
    expect(writes[0]![0]).toBe('executeBatch')
    expect(writes[0]![1].map((step: any) => [step.collection, step.args])).toEqual([
      ['user', { id: 'pk-1', displayName: 'Joe' }],
      ['email', { id: 'pk-2', address: 'foo@bla.com', user: 'pk-1' }],
      ['email', { id: 'pk-3', address: 'bar@bla.com', user: 'pk-1' }],
      ['profile', { id: 'pk-4', bio: 'hi', user: 'pk-1' }],
    ])
  })

  it('keeps caller-given pks of nested children and links them to their parent', async () => {
    const { storageManager } = await setupTest({ pkGenerator: counterGenerator() })
    const { object: user } = await storageManager.collection('user').createObject({
      displayName: 'Joe',
      emails: [{ id: 'email-mine', address: 'foo@bla.com' }, { address: 'bar@bla.com' }],
    })
    expect(user.id).toBe('pk-1')
    expect(user.emails.map((email: any) => email.id)).toEqual(['email-mine', 'pk-2'])
    expect(await storageManager.collection('email').findOneObject({ id: 'email-mine' })).toEqual({
      id: 'email-mine',
      user: 'pk-1',
      address: 'foo@bla.com',
    })
  })

  it('gives createObject steps of executeBatch pks, resolving placeholders, and keeps given ones', async () => {
    const { storageManager, seen } = await setupTest({ pkGenerator: counterGenerator('batch') })
    await storageManager.collection('user').createObject({ id: 'old', displayName: 'Old' })
    const { info } = await storageManager.operation('executeBatch', [
      { operation: 'createObject', collection: 'user', placeholder: 'joe', args: { displayName: 'Joe' } },
      {
        operation: 'createObject',
        collection: 'email',
        placeholder: 'joeEmail',
        args: { address: 'joe@bla.com' },
        replace: [{ path: 'user', placeholder: 'joe' }],
      },
      { operation: 'createObject', collection: 'user', args: { id: 'given', displayName: 'Given' } },
      { operation: 'updateObjects', collection: 'user', where: { id: 'given' }, updates: { displayName: 'Given!' } },
      { operation: 'deleteObjects', collection: 'user', where: { id: 'old' } },
    ])
    expect(info.joe.object.id).toBe('batch-1')
    expect(info.joeEmail.object.id).toBe('batch-2')
    const users = await storageManager.collection('user').findObjects({})
    expect(users.sort((a: any, b: any) => a.id.localeCompare(b.id))).toEqual([
      { id: 'batch-1', displayName: 'Joe' },
      { id: 'given', displayName: 'Given!' },
    ])
    expect(await storageManager.collection('email').findObjects({})).toEqual([
      { id: 'batch-2', user: 'batch-1', address: 'joe@bla.com' },
    ])
    const batch = seen.filter((operation) => operation[0] === 'executeBatch').at(-1)![1]
    expect(batch.map((step: any) => step.operation)).toEqual([
      'createObject',
      'createObject',
      'createObject',
      'updateObjects',
      'deleteObjects',
    ])
    expect(batch[1].args.id).toBe('batch-2')
  })

  it('flattens nested children inside an executeBatch createObject step', async () => {
    const { storageManager, seen } = await setupTest({ pkGenerator: counterGenerator() })
    const { info } = await storageManager.operation('executeBatch', [
      {
        operation: 'createObject',
        collection: 'user',
        placeholder: 'joe',
        args: { displayName: 'Joe', emails: [{ address: 'a@bla.com' }] },
      },
      { operation: 'createObject', collection: 'user', args: { displayName: 'Jane', emails: [{ address: 'b@bla.com' }] } },
    ])
    expect(info.joe.object.id).toBe('pk-1')
    expect(seen.at(-1)![1].map((step: any) => [step.collection, step.args])).toEqual([
      ['user', { id: 'pk-1', displayName: 'Joe' }],
      ['email', { id: 'pk-2', address: 'a@bla.com', user: 'pk-1' }],
      ['user', { id: 'pk-3', displayName: 'Jane' }],
      ['email', { id: 'pk-4', address: 'b@bla.com', user: 'pk-3' }],
    ])
    const emails = await storageManager.collection('email').findObjects({})
    expect(emails.sort((a: any, b: any) => a.id.localeCompare(b.id))).toEqual([
      { id: 'pk-2', user: 'pk-1', address: 'a@bla.com' },
      { id: 'pk-4', user: 'pk-3', address: 'b@bla.com' },
    ])
  })

  it('passes operations on other collections through untouched', async () => {
    const { storageManager, seen } = await setupTest({ pkGenerator: () => 'never', collections: ['user'] })
    const tag = { name: 'red', color: '#f00' }
    await storageManager.collection('tag').createObject(tag)
    expect(seen.at(-1)).toEqual(['createObject', 'tag', tag])
    expect(seen.at(-1)![2]).toBe(tag)
    const batch = [{ operation: 'createObject', collection: 'tag', args: { name: 'blue', color: '#00f' } }]
    await storageManager.operation('executeBatch', batch)
    expect(seen.at(-1)![1]).toBe(batch)
    await storageManager.collection('tag').updateObjects({ name: 'red' }, { color: '#e00' })
    expect(seen.at(-1)).toEqual(['updateObjects', 'tag', { name: 'red' }, { color: '#e00' }])
    const tags = await storageManager.collection('tag').findObjects({})
    expect(tags.sort((a: any, b: any) => a.name.localeCompare(b.name))).toEqual([
      { name: 'blue', color: '#00f' },
      { name: 'red', color: '#e00' },
    ])
  })

  it('generates ids for collections whose pk field is declared { type: string }', async () => {
    const { storageManager, seen } = await setupTest({ pkGenerator: counterGenerator('s'), collections: ['doc', 'tag'] })
    const { object } = await storageManager.collection('doc').createObject({ text: 'hello' })
    expect(object).toEqual({ id: 's-1', text: 'hello' })
    expect(seen.at(-1)).toEqual(['createObject', 'doc', { id: 's-1', text: 'hello' }])
    const { object: tag } = await storageManager.collection('tag').createObject({ color: '#f00' })
    expect(tag.name).toBe('s-2')
    // A pk the caller gives is kept.
    await storageManager.collection('doc').createObject({ id: 'mine', text: 'given' })
    await storageManager.operation('executeBatch', [
      { placeholder: 'd', operation: 'createObject', collection: 'doc', args: { text: 'in a batch' } },
      { operation: 'updateObjects', collection: 'doc', where: { id: 's-1' }, updates: { text: 'changed' } },
    ])
    const docs = await storageManager.collection('doc').findObjects({})
    expect(docs.sort((a: any, b: any) => a.id.localeCompare(b.id))).toEqual([
      { id: 'mine', text: 'given' },
      { id: 's-1', text: 'changed' },
      { id: 's-3', text: 'in a batch' },
    ])
    expect(await storageManager.collection('tag').findObjects({})).toEqual([{ name: 's-2', color: '#f00' }])
  })

  it('refuses objects given under a connects relationship, writing nothing, like storex itself', async () => {
    const { storageManager } = await setupTest()
    // Without this check the SQL backend drops the docs silently, and the logging middleware would log them as a field.
    const error = await storageManager
      .collection('user')
      .createObject({ displayName: 'Joe', docs: [{ id: 'd-1', text: 'linked' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CustomPkError)
    expect((error as CustomPkError).code).toBe('UNSUPPORTED_RELATIONSHIP')
    expect((error as CustomPkError).message).toContain("'user.docs'")
    expect(await storageManager.collection('user').countObjects({})).toBe(0)
    expect(await storageManager.collection('doc').countObjects({})).toBe(0)
    // An empty value under the alias is no object to create, and no column either.
    const { object } = await storageManager.collection('user').createObject({ displayName: 'Jane', docs: null })
    expect(await storageManager.collection('user').findObjects({})).toEqual([{ id: object.id, displayName: 'Jane' }])
  })

  it('rejects a generator that returns no string', async () => {
    const { storageManager } = await setupTest({ pkGenerator: () => '' })
    const error = await storageManager
      .collection('user')
      .createObject({ displayName: 'Joe' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CustomPkError)
    expect((error as CustomPkError).code).toBe('INVALID_PK')
    expect(await storageManager.collection('user').countObjects({})).toBe(0)
  })
})

describe('CustomAutoPkMiddleware options', () => {
  it('refuses a bad pkGenerator or setup() options with INVALID_OPTION, naming what to pass', () => {
    const refusal = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return error as CustomPkError
      }
      throw new Error('expected a CustomPkError')
    }
    const badGenerator = refusal(() => new CustomAutoPkMiddleware({ pkGenerator: 'uuid' as never }))
    expect(badGenerator).toBeInstanceOf(CustomPkError)
    expect(badGenerator.code).toBe('INVALID_OPTION')
    expect(badGenerator.detail).toMatch(/^pkGenerator must be a function/)
    const noRegistry = refusal(() => new CustomAutoPkMiddleware().setup({ collections: ['user'] } as never))
    expect(noRegistry.code).toBe('INVALID_OPTION')
    expect(noRegistry.detail).toContain('storageRegistry')
    const noCollections = refusal(() => new CustomAutoPkMiddleware().setup({ storageRegistry: { collections: {} }, collections: 'user' } as never))
    expect(noCollections.code).toBe('INVALID_OPTION')
    expect(noCollections.detail).toContain('`collections`')
  })
})

describe.each(clientBackends)('CustomAutoPkMiddleware setup on $kind', ({ create }) => {
  let storage: TestStorage | null = null
  afterEach(async () => {
    await storage?.cleanup()
    storage = null
  })

  it('rejects collections the registry does not have', async () => {
    storage = await create({ setup: registerCollections })
    const middleware = new CustomAutoPkMiddleware()
    let error: unknown
    try {
      middleware.setup({ storageRegistry: storage.storageManager.registry, collections: ['user', 'nope'] })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CustomPkError)
    expect((error as CustomPkError).code).toBe('UNKNOWN_COLLECTION')
    expect((error as Error).message).toMatch(/^@storex-sync\/custom-pk: collection 'nope' is not registered/)
    expect((error as Error).message).toContain('Register it')
  })

  it('rejects collections whose pk is not a single auto-pk field', async () => {
    storage = await create({ setup: registerCollections })
    const registry = storage.storageManager.registry
    expect(() => new CustomAutoPkMiddleware().setup({ storageRegistry: registry, collections: ['counter'] })).toThrowError(
      expect.objectContaining({ code: 'UNSUPPORTED_PK' }),
    )
    // A declared string pk is fine (the original generated ids for it too).
    expect(() => new CustomAutoPkMiddleware().setup({ storageRegistry: registry, collections: ['tag', 'doc'] })).not.toThrow()
  })

  it('fails the first write with a clear error when setup() was not called, and lets reads through', async () => {
    storage = await create({ setup: registerCollections })
    const { storageManager } = storage
    storageManager.setMiddleware([new CustomAutoPkMiddleware()])
    expect(await storageManager.collection('user').findObjects({})).toEqual([])
    const error = await storageManager
      .collection('user')
      .createObject({ displayName: 'Joe' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CustomPkError)
    expect((error as CustomPkError).code).toBe('SETUP_NOT_CALLED')
    expect((error as Error).message).toContain('setup(')
    await expect(
      storageManager.operation('executeBatch', [{ operation: 'createObject', collection: 'user', args: {} }]),
    ).rejects.toMatchObject({ code: 'SETUP_NOT_CALLED' })
    expect(await storageManager.collection('user').countObjects({})).toBe(0)
  })
})
