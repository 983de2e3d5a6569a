import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { clientBackends, type TestStorage } from '@storex-sync/test-backends'
import { ClientSyncLogStorage, HLC_TICKS_PER_MS } from '@storex-sync/client-sync-log'
import { SyncLoggingError, SyncLoggingMiddleware, type StorageMiddlewareContext } from '../src'

const NOW = 1_700_000_000_000

function registerCollections(storageManager: TestStorage['storageManager']) {
  storageManager.registry.registerCollections({
    user: {
      version: new Date('2024-01-01'),
      fields: {
        id: { type: 'string' },
        displayName: { type: 'string' },
        age: { type: 'int', optional: true },
        active: { type: 'boolean', optional: true },
        birthday: { type: 'datetime', optional: true },
      },
      indices: [{ field: 'id', pk: true }],
    },
    email: {
      version: new Date('2024-01-01'),
      fields: { id: { type: 'string' }, address: { type: 'string' } },
      indices: [{ field: 'id', pk: true }],
      relationships: [{ childOf: 'user' }],
    },
    membership: {
      version: new Date('2024-01-01'),
      fields: { groupId: { type: 'string' }, userId: { type: 'string' }, role: { type: 'string' } },
      indices: [{ field: ['groupId', 'userId'], pk: true }],
    },
    note: {
      version: new Date('2024-01-01'),
      fields: { id: { type: 'string' }, text: { type: 'string' } },
      indices: [{ field: 'id', pk: true }],
    },
    // A many-to-many link: storex cannot create the linked objects through it.
    userNote: {
      version: new Date('2024-01-01'),
      fields: {},
      relationships: [{ connects: ['user', 'note'], reverseAliases: ['notes', 'users'] }],
    },
  } as any)
}

/** Records what the logging middleware hands on to the backend. */
class Recorder {
  operations: any[][] = []
  async process(context: StorageMiddlewareContext) {
    this.operations.push(context.operation)
    return context.next.process({ operation: context.operation, extraData: context.extraData })
  }
  /** Operation names, leaving out the log's own reads (the stored clock, read before each logged write). */
  names() {
    return this.operations
      .filter((operation) => operation[1] !== 'clientSyncLogEntry' && operation[1] !== 'clientSyncLogState')
      .map((operation) => operation[0])
  }
}

describe.each(clientBackends)('SyncLoggingMiddleware on $kind', ({ create }) => {
  let storage: TestStorage
  let clientSyncLog: ClientSyncLogStorage
  let logging: SyncLoggingMiddleware
  let recorder: Recorder
  let now: number

  const collection = (name: string): any => storage.storageManager.collection(name)
  const logged = async () =>
    (await clientSyncLog.getEntries()).map(({ operation, collection, pk, ...rest }) => ({
      operation,
      collection,
      pk,
      ...('value' in rest ? { value: rest.value } : {}),
    }))

  beforeEach(async () => {
    storage = await create({
      setup(storageManager) {
        registerCollections(storageManager)
        clientSyncLog = new ClientSyncLogStorage({ storageManager })
        registerModuleMapCollections(storageManager.registry, { clientSyncLog })
      },
    })
    now = NOW
    logging = new SyncLoggingMiddleware({
      storageManager: storage.storageManager,
      clientSyncLog,
      includeCollections: ['user', 'email', 'membership'],
      getNow: () => now,
    })
    logging.enable('device-one')
    recorder = new Recorder()
    storage.storageManager.setMiddleware([logging, recorder] as any)
  })
  afterEach(async () => {
    await storage.cleanup()
  })

  it('logs createObject as a create entry without the pk, in one batch with the data', async () => {
    const result = await collection('user').createObject({ id: 'u1', displayName: 'Joe', age: 0, active: false })
    expect(result).toEqual({ object: expect.objectContaining({ id: 'u1', displayName: 'Joe', age: 0, active: false }) })
    expect(recorder.names()).toEqual(['executeBatch'])
    const batch = recorder.operations.find((operation) => operation[0] === 'executeBatch')![1]
    expect(batch.map((step: any) => [step.operation, step.collection])).toEqual([
      ['createObject', 'user'],
      ['createObject', 'clientSyncLogEntry'],
      // The stored clock moves with the entries, in the same batch (created on the first write).
      ['createObject', 'clientSyncLogState'],
    ])
    expect(await logged()).toEqual([
      { operation: 'create', collection: 'user', pk: 'u1', value: { displayName: 'Joe', age: 0, active: false } },
    ])
    const [entry] = await clientSyncLog.getEntries()
    expect(entry).toMatchObject({ deviceId: 'device-one', sharedOn: null, needsIntegration: false, createdOn: NOW * HLC_TICKS_PER_MS })
    expect(await collection('user').findObject({ id: 'u1' })).toMatchObject({ id: 'u1', displayName: 'Joe' })
  })

  it('logs datetime values that come back as Dates', async () => {
    const birthday = new Date('1990-05-06T07:08:09.010Z')
    await collection('user').createObject({ id: 'u1', displayName: 'Joe', birthday })
    const [entry] = await clientSyncLog.getEntries()
    expect((entry as any).value.birthday).toEqual(birthday)
    expect((entry as any).value.birthday).toBeInstanceOf(Date)
  })

  it('logs one create entry per object of a nested create and returns the nested object', async () => {
    const result = await collection('user').createObject({
      id: 'u1',
      displayName: 'Joe',
      emails: [
        { id: 'e1', address: 'joe@a.example' },
        { id: 'e2', address: 'joe@b.example' },
      ],
    })
    expect(result.object).toMatchObject({
      id: 'u1',
      emails: [
        { id: 'e1', address: 'joe@a.example', user: 'u1' },
        { id: 'e2', address: 'joe@b.example', user: 'u1' },
      ],
    })
    expect(await logged()).toEqual([
      { operation: 'create', collection: 'user', pk: 'u1', value: { displayName: 'Joe' } },
      { operation: 'create', collection: 'email', pk: 'e1', value: { address: 'joe@a.example', user: 'u1' } },
      { operation: 'create', collection: 'email', pk: 'e2', value: { address: 'joe@b.example', user: 'u1' } },
    ])
    expect(await collection('email').findObjects({ user: 'u1' })).toHaveLength(2)
  })

  it('refuses objects given under a connects relationship instead of logging them as a field, writing nothing', async () => {
    const error = await collection('user')
      .createObject({ id: 'u1', displayName: 'Joe', notes: [{ id: 'n1', text: 'linked' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SyncLoggingError)
    expect((error as SyncLoggingError).code).toBe('UNSUPPORTED_RELATIONSHIP')
    expect(await logged()).toEqual([])
    expect(await collection('user').countObjects({})).toBe(0)
    await collection('user').createObject({ id: 'u2', displayName: 'Jane', notes: null })
    expect(await logged()).toEqual([{ operation: 'create', collection: 'user', pk: 'u2', value: { displayName: 'Jane' } }])
  })

  it('logs updateObject as a modify entry with the changed fields', async () => {
    await collection('user').createObject({ id: 'u1', displayName: 'Joe' })
    recorder.operations = []
    await collection('user').updateObject({ id: 'u1' }, { displayName: 'Jack', age: 0 })
    expect(recorder.names()).toEqual(['findObjects', 'executeBatch'])
    expect((await logged())[1]).toEqual({ operation: 'modify', collection: 'user', pk: 'u1', value: { displayName: 'Jack', age: 0 } })
    expect(await collection('user').findObject({ id: 'u1' })).toMatchObject({ displayName: 'Jack', age: 0 })
  })

  it('logs updateObjects by query as one modify per affected object, finding them with one query', async () => {
    for (const [id, age] of [['u1', 30], ['u2', 30], ['u3', 40]] as const) {
      await collection('user').createObject({ id, displayName: id, age })
    }
    recorder.operations = []
    await collection('user').updateObjects({ age: 30 }, { displayName: 'thirty' })
    expect(recorder.names()).toEqual(['findObjects', 'executeBatch'])
    const entries = (await logged()).slice(3)
    expect(entries.map((e) => [e.operation, e.pk, e.value]).sort()).toEqual([
      ['modify', 'u1', { displayName: 'thirty' }],
      ['modify', 'u2', { displayName: 'thirty' }],
    ])
    const users = await collection('user').findObjects({})
    expect(users.map((u: any) => [u.id, u.displayName]).sort()).toEqual([
      ['u1', 'thirty'],
      ['u2', 'thirty'],
      ['u3', 'u3'],
    ])
  })

  it('writes nothing for an update or delete that matches no object', async () => {
    await collection('user').updateObjects({ age: 99 }, { displayName: 'x' })
    await collection('user').deleteObjects({ age: 99 })
    expect(recorder.names()).toEqual(['findObjects', 'findObjects'])
    expect(await clientSyncLog.getEntries()).toEqual([])
  })

  it('logs deleteObject and deleteObjects by query as one delete entry per object', async () => {
    for (const [id, age] of [['u1', 1], ['u2', 2], ['u3', 2], ['u4', 3]] as const) {
      await collection('user').createObject({ id, displayName: id, age })
    }
    await collection('user').deleteObject({ id: 'u1' })
    await collection('user').deleteObjects({ age: 2 })
    const deletes = (await logged()).filter((e) => e.operation === 'delete')
    expect(deletes.map((e) => e.pk).sort()).toEqual(['u1', 'u2', 'u3'])
    expect(deletes.every((e) => !('value' in e))).toBe(true)
    expect((await collection('user').findObjects({})).map((u: any) => u.id)).toEqual(['u4'])
  })

  it('uses arrays for compound pks', async () => {
    await collection('membership').createObject({ groupId: 'g1', userId: 'u1', role: 'member' })
    await collection('membership').updateObjects({ groupId: 'g1' }, { role: 'admin' })
    await collection('membership').deleteObject({ groupId: 'g1', userId: 'u1' })
    expect(await logged()).toEqual([
      { operation: 'create', collection: 'membership', pk: ['g1', 'u1'], value: { role: 'member' } },
      { operation: 'modify', collection: 'membership', pk: ['g1', 'u1'], value: { role: 'admin' } },
      { operation: 'delete', collection: 'membership', pk: ['g1', 'u1'] },
    ])
    expect(await collection('membership').findObjects({})).toEqual([])
  })

  it('logs only the included steps of a batch mixing included and excluded collections', async () => {
    await collection('user').createObject({ id: 'u0', displayName: 'Old', age: 5 })
    recorder.operations = []
    const result = await storage.storageManager.operation('executeBatch', [
      { placeholder: 'joe', operation: 'createObject', collection: 'user', args: { id: 'u1', displayName: 'Joe' } },
      { placeholder: 'n', operation: 'createObject', collection: 'note', args: { id: 'n1', text: 'hi' } },
      { operation: 'updateObjects', collection: 'user', where: { id: 'u1' }, updates: { age: 7 } },
      { operation: 'deleteObjects', collection: 'user', where: { age: 5 } },
    ])
    expect(result.info.joe.object).toMatchObject({ id: 'u1', displayName: 'Joe' })
    expect(recorder.names()).toEqual(['findObjects', 'executeBatch'])
    expect((await logged()).slice(1)).toEqual([
      { operation: 'create', collection: 'user', pk: 'u1', value: { displayName: 'Joe' } },
      { operation: 'modify', collection: 'user', pk: 'u1', value: { age: 7 } },
      { operation: 'delete', collection: 'user', pk: 'u0' },
    ])
    expect(await collection('note').findObject({ id: 'n1' })).toMatchObject({ text: 'hi' })
    expect(await collection('user').findObject({ id: 'u1' })).toMatchObject({ age: 7 })
    expect(await collection('user').findObject({ id: 'u0' })).toBeFalsy()
  })

  it('logs exactly what a batch does: no modify or second delete for an object an earlier step deleted', async () => {
    await storage.storageManager.operation('executeBatch', [
      { placeholder: 'p', operation: 'createObject', collection: 'user', args: { id: 'p1', displayName: 'P' } },
      { operation: 'deleteObjects', collection: 'user', where: { id: 'p1' } },
      { operation: 'updateObjects', collection: 'user', where: { id: 'p1' }, updates: { age: 3 } },
      { operation: 'deleteObjects', collection: 'user', where: { id: 'p1' } },
    ])
    expect(await collection('user').findObjects({})).toEqual([])
    expect(await logged()).toEqual([
      { operation: 'create', collection: 'user', pk: 'p1', value: { displayName: 'P' } },
      { operation: 'delete', collection: 'user', pk: 'p1' },
    ])
  })

  it('logs exactly what a batch does to stored objects deleted, recreated and updated in it', async () => {
    await collection('user').createObject({ id: 'u0', displayName: 'Old', age: 5 })
    await collection('user').createObject({ id: 'u9', displayName: 'Other', age: 5 })
    const before = (await logged()).length
    await storage.storageManager.operation('executeBatch', [
      { operation: 'deleteObjects', collection: 'user', where: { displayName: 'Old' } },
      { operation: 'updateObjects', collection: 'user', where: { id: 'u0' }, updates: { age: 6 } },
      { operation: 'deleteObjects', collection: 'user', where: { id: 'u9' } },
      { operation: 'updateObjects', collection: 'user', where: { age: 5 }, updates: { age: 1 } },
      { placeholder: 'again', operation: 'createObject', collection: 'user', args: { id: 'u0', displayName: 'New' } },
      { operation: 'updateObjects', collection: 'user', where: { id: 'u0' }, updates: { age: 7 } },
    ])
    expect(await collection('user').findObjects({})).toEqual([expect.objectContaining({ id: 'u0', displayName: 'New', age: 7 })])
    expect((await logged()).slice(before)).toEqual([
      { operation: 'delete', collection: 'user', pk: 'u0' },
      { operation: 'delete', collection: 'user', pk: 'u9' },
      { operation: 'create', collection: 'user', pk: 'u0', value: { displayName: 'New' } },
      { operation: 'modify', collection: 'user', pk: 'u0', value: { age: 7 } },
    ])
  })

  it('passes a batch of only excluded collections through unchanged', async () => {
    const batch = [{ placeholder: 'n', operation: 'createObject', collection: 'note', args: { id: 'n1', text: 'hi' } }]
    await storage.storageManager.operation('executeBatch', batch)
    expect(recorder.operations).toEqual([['executeBatch', batch]])
    expect(await clientSyncLog.getEntries()).toEqual([])
  })

  it('passes writes to excluded collections and reads through untouched', async () => {
    await collection('note').createObject({ id: 'n1', text: 'hi' })
    await collection('note').updateObjects({ id: 'n1' }, { text: 'ho' })
    await collection('note').deleteObjects({ id: 'n1' })
    await collection('user').findObjects({ displayName: 'x' })
    await collection('user').countObjects({})
    expect(recorder.operations).toEqual([
      ['createObject', 'note', { id: 'n1', text: 'hi' }],
      ['updateObjects', 'note', { id: 'n1' }, { text: 'ho' }],
      ['deleteObjects', 'note', { id: 'n1' }],
      ['findObjects', 'user', { displayName: 'x' }],
      ['countObjects', 'user', {}],
    ])
    expect(await clientSyncLog.getEntries()).toEqual([])
  })

  it('logs nothing while disabled, and logs again after enable(), recording what was written meanwhile as existing', async () => {
    logging.disable()
    expect(logging.enabled).toBe(false)
    await collection('user').createObject({ id: 'u1', displayName: 'Joe' })
    await collection('user').updateObjects({ id: 'u1' }, { displayName: 'Jack' })
    expect(recorder.names()).toEqual(['createObject', 'updateObjects'])
    expect(await clientSyncLog.getEntries()).toEqual([])
    logging.enable('device-two')
    expect(logging.enabled).toBe(true)
    await collection('user').deleteObject({ id: 'u1' })
    // u1 existed without a log entry: it is recorded first (a baseline create below every real clock value), then its delete.
    expect((await clientSyncLog.getEntries()).map((e) => [e.operation, e.deviceId, e.createdOn < 1000])).toEqual([
      ['create', 'device-two', true],
      ['delete', 'device-two', false],
    ])
  })

  it('refuses to write to an included collection without a device id, and writes nothing', async () => {
    const fresh = new SyncLoggingMiddleware({ storageManager: storage.storageManager, clientSyncLog, includeCollections: ['user'] })
    storage.storageManager.setMiddleware([fresh])
    const attempt = collection('user').createObject({ id: 'u1', displayName: 'Joe' })
    await expect(attempt).rejects.toBeInstanceOf(SyncLoggingError)
    await expect(collection('user').createObject({ id: 'u1', displayName: 'Joe' })).rejects.toMatchObject({
      code: 'DEVICE_ID_MISSING',
      message: expect.stringContaining('enable(deviceId)'),
    })
    expect(await collection('user').findObjects({})).toEqual([])
    // Excluded collections still work.
    await collection('note').createObject({ id: 'n1', text: 'fine' })
    expect(await collection('note').findObjects({})).toHaveLength(1)
  })

  it('calls onEntriesLogged after each logged write with its entry count, not for unlogged or failed writes', async () => {
    const calls: Array<{ entries: number; stored: number }> = []
    let counted: Promise<unknown> = Promise.resolve()
    const unsubscribe = logging.onEntriesLogged(({ entries }) => {
      // Called after the batch is stored: the entries are already readable.
      counted = clientSyncLog.countPending().then(({ unshared }) => calls.push({ entries, stored: unshared }))
    })
    // Each count finishes before the next write (on a server database the reads may otherwise overtake each other).
    const write = async (change: () => Promise<unknown>) => {
      await change()
      await counted
    }
    await write(() => collection('user').createObject({ id: 'u1', displayName: 'Joe' }))
    await write(() => collection('user').createObject({ id: 'u2', displayName: 'Ann' }))
    await write(() => collection('user').updateObjects({}, { displayName: 'Same' }))
    await write(() => collection('user').updateObjects({ id: 'nobody' }, { displayName: 'x' }))
    await write(() => collection('note').createObject({ id: 'n1', text: 'not synced' }))
    await expect(collection('user').createObject({ displayName: 'No id' })).rejects.toMatchObject({ code: 'PK_MISSING' })
    await counted
    expect(calls).toEqual([
      { entries: 1, stored: 1 },
      { entries: 1, stored: 2 },
      { entries: 2, stored: 4 },
    ])
    unsubscribe()
    logging.onEntriesLogged(() => {
      throw new Error('listener bug')
    })
    await expect(collection('user').deleteObject({ id: 'u1' })).resolves.toBeUndefined()
    expect(await collection('user').findObject({ id: 'u1' })).toBeFalsy()
  })

  it('takes onEntriesLogged as a constructor option', async () => {
    const counts: number[] = []
    const withHook = new SyncLoggingMiddleware({
      storageManager: storage.storageManager,
      clientSyncLog,
      includeCollections: ['user'],
      deviceId: 'd',
      onEntriesLogged: ({ entries }) => counts.push(entries),
    })
    storage.storageManager.setMiddleware([withHook])
    await storage.storageManager.operation('executeBatch', [
      { operation: 'createObject', collection: 'user', args: { id: 'u1', displayName: 'a' } },
      { operation: 'createObject', collection: 'user', args: { id: 'u2', displayName: 'b' } },
    ])
    expect(counts).toEqual([2])
  })

  it('takes the device id as a constructor option too', async () => {
    const withOption = new SyncLoggingMiddleware({
      storageManager: storage.storageManager,
      clientSyncLog,
      includeCollections: ['user'],
      deviceId: 42,
    })
    storage.storageManager.setMiddleware([withOption])
    await collection('user').createObject({ id: 'u1', displayName: 'Joe' })
    expect((await clientSyncLog.getEntries())[0]!.deviceId).toBe(42)
  })

  it('rejects includeCollections the registry does not have at first use', async () => {
    const wrong = new SyncLoggingMiddleware({
      storageManager: storage.storageManager,
      clientSyncLog,
      includeCollections: ['user', 'userz'],
      deviceId: 'd',
    })
    storage.storageManager.setMiddleware([wrong])
    await expect(collection('user').createObject({ id: 'u1', displayName: 'Joe' })).rejects.toMatchObject({
      code: 'UNKNOWN_COLLECTION',
      message: expect.stringContaining('userz'),
    })
  })

  it('refuses a create without a pk in an included collection', async () => {
    await expect(collection('user').createObject({ displayName: 'No id' })).rejects.toMatchObject({ code: 'PK_MISSING' })
    expect(await clientSyncLog.getEntries()).toEqual([])
  })

  it('writes neither data nor log when the data write fails (one atomic batch)', async () => {
    await collection('user').createObject({ id: 'u1', displayName: 'Joe' })
    // The second step breaks on the backend (a collection it does not have) after the first one ran.
    await expect(
      storage.storageManager.operation('executeBatch', [
        { operation: 'createObject', collection: 'user', args: { id: 'u2', displayName: 'Ann' } },
        { operation: 'createObject', collection: 'notRegistered', args: { id: 'x1' } },
      ]),
    ).rejects.toThrow()
    expect(await collection('user').findObject({ id: 'u2' })).toBeFalsy()
    expect((await clientSyncLog.getEntries()).map((e) => e.pk)).toEqual(['u1'])
  })

  it('issues strictly increasing createdOn values from getNow, also when the wall clock stands still or goes back', async () => {
    await collection('user').createObject({ id: 'u1', displayName: 'a' })
    await collection('user').createObject({ id: 'u2', displayName: 'b' })
    now = NOW - 60_000
    await collection('user').updateObjects({}, { age: 1 })
    logging._getNow = () => NOW + 5
    await collection('user').deleteObject({ id: 'u1' })
    const createdOn = (await clientSyncLog.getEntries()).map((e) => e.createdOn)
    expect(createdOn).toEqual([
      NOW * HLC_TICKS_PER_MS,
      NOW * HLC_TICKS_PER_MS + 1,
      NOW * HLC_TICKS_PER_MS + 2,
      NOW * HLC_TICKS_PER_MS + 3,
      (NOW + 5) * HLC_TICKS_PER_MS,
    ])
  })

  it('uses the same clock as the log, so entries written after a received one sort after it', async () => {
    const future = (NOW + 1000) * HLC_TICKS_PER_MS + 3
    await clientSyncLog.insertReceivedEntries(
      [{ deviceId: 'other', createdOn: future, operation: 'create', collection: 'user', pk: 'x', value: { displayName: 'X' } }],
      { now: NOW },
    )
    await collection('user').createObject({ id: 'u1', displayName: 'Joe' })
    const own = (await clientSyncLog.getEntries()).find((e) => e.deviceId === 'device-one')!
    expect(own.createdOn).toBe(future + 1)
  })
})

describe('SyncLoggingMiddleware construction', () => {
  it('rejects logging the log collection itself', () => {
    expect(
      () =>
        new SyncLoggingMiddleware({
          storageManager: { registry: { collections: {} } as any },
          clientSyncLog: {} as any,
          includeCollections: ['clientSyncLogEntry'],
        }),
    ).toThrow(SyncLoggingError)
    // Any collection the client sync log owns (its state, its quarantines), named by the log itself.
    const clientSyncLog = new ClientSyncLogStorage({ storageManager: { registry: { collections: {} }, backend: undefined } as any })
    for (const collection of ['clientSyncLogState', 'clientSyncLogQuarantine']) {
      expect(
        () => new SyncLoggingMiddleware({ storageManager: { registry: { collections: {} } as any }, clientSyncLog, includeCollections: ['note', collection] }),
      ).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLLECTION', message: expect.stringContaining(`'${collection}'`) }))
    }
  })
})
