import { afterEach, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { SyncError } from '@storex-sync/errors'
import { ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import { CustomAutoPkMiddleware } from '@storex-sync/custom-pk'
import { SyncLoggingMiddleware } from '@storex-sync/logging-middleware'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { doSync } from '@storex-sync/sync-orchestrator'
import { defaultBackends, type SimulationStorage } from '../src'

// Misuse across the packages: each mistake throws a SyncError subclass with a
// code, and a message that names the package and says what to do.
const opened: SimulationStorage[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.cleanup()))
})

const notes = { note: { version: new Date('2024-01-01'), fields: { title: { type: 'string' as const } } } }

async function setup(kind: string, options: { registerLog?: boolean } = {}) {
  let clientSyncLog!: ClientSyncLogStorage
  const storage = await defaultBackends[kind]!({
    name: 'misuse',
    setup: (storageManager) => {
      storageManager.registry.registerCollections(notes)
      clientSyncLog = new ClientSyncLogStorage({ storageManager })
      if (options.registerLog !== false) registerModuleMapCollections(storageManager.registry, { clientSyncLog })
    },
  })
  opened.push(storage)
  return { storageManager: storage.storageManager, clientSyncLog }
}

async function expectMisuse(action: () => unknown, code: string, advice: RegExp, packageName: string) {
  let thrown: unknown
  try {
    await action()
  } catch (error) {
    thrown = error
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(SyncError)
  const error = thrown as SyncError
  expect(error.code).toBe(code)
  expect(error.message).toContain(packageName)
  expect(error.message).toMatch(advice)
}

describe.each(Object.keys(defaultBackends))('misuse on %s', (kind) => {
  it('sync with an empty device id, write before enabling logging', async () => {
    const { storageManager, clientSyncLog } = await setup(kind)
    const sharedSyncLog = new MemorySharedSyncLog()
    await expectMisuse(
      () => doSync({ storageManager, clientSyncLog, sharedSyncLog, reconciler: reconcileSyncLog, userId: 'u', deviceId: '' }),
      'DEVICE_ID_MISSING',
      /createDeviceId/,
      '@storex-sync/sync-orchestrator',
    )
    const logging = new SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['note'] })
    storageManager.setMiddleware([logging])
    await expectMisuse(
      () => storageManager.collection('note').createObject({ id: 'n1', title: 'x' }),
      'DEVICE_ID_MISSING',
      /logging\.enable\(\)/,
      '@storex-sync/logging-middleware',
    )
  })

  it('middleware not set up', async () => {
    const { storageManager, clientSyncLog } = await setup(kind)
    storageManager.setMiddleware([new CustomAutoPkMiddleware()])
    await expectMisuse(
      () => storageManager.collection('note').createObject({ title: 'x' }),
      'SETUP_NOT_CALLED',
      /pkMiddleware\.setup\(/,
      '@storex-sync/custom-pk',
    )
    void clientSyncLog
  })

  it('client sync log not registered before the middleware runs', async () => {
    const { storageManager, clientSyncLog } = await setup(kind, { registerLog: false })
    const logging = new SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['note'], deviceId: 1 })
    storageManager.setMiddleware([logging])
    await expectMisuse(
      () => storageManager.collection('note').createObject({ id: 'n1', title: 'x' }),
      'CLIENT_SYNC_LOG_NOT_REGISTERED',
      /registerModuleMapCollections/,
      '@storex-sync/logging-middleware',
    )
  })

  it('a collection that is not registered', async () => {
    const { storageManager, clientSyncLog } = await setup(kind)
    await expectMisuse(
      () => new CustomAutoPkMiddleware().setup({ storageRegistry: storageManager.registry, collections: ['nope'] }),
      'UNKNOWN_COLLECTION',
      /Register it before calling setup\(\)/,
      '@storex-sync/custom-pk',
    )
    const logging = new SyncLoggingMiddleware({ storageManager, clientSyncLog, includeCollections: ['note', 'nope'], deviceId: 1 })
    storageManager.setMiddleware([logging])
    await expectMisuse(
      () => storageManager.collection('note').createObject({ id: 'n1', title: 'x' }),
      'UNKNOWN_COLLECTION',
      /Register them before finishInitialization\(\)/,
      '@storex-sync/logging-middleware',
    )
    await expectMisuse(
      () =>
        reconcileSyncLog(
          [{ operation: 'create', collection: 'nope', pk: 'x', value: {}, createdOn: 1, deviceId: 1, sharedOn: 1, needsIntegration: true }],
          { storageRegistry: storageManager.registry },
        ),
      'UNKNOWN_COLLECTION',
      /register the collection/i,
      '@storex-sync/reconciliation',
    )
  })

  it('doSync with a shared log that does not implement the interface', async () => {
    const { storageManager, clientSyncLog } = await setup(kind)
    const notALog = { writeEntries: async () => {}, getUnsyncedEntries: async () => ({ entries: [], memo: null, hasMore: false }) }
    await expectMisuse(
      () => doSync({ storageManager, clientSyncLog, sharedSyncLog: notALog as any, reconciler: reconcileSyncLog, userId: 'u', deviceId: 1 }),
      'INVALID_SHARED_SYNC_LOG',
      /missing createDeviceId, getDeviceInfo, markAsSeen\)\. Pass a MemorySharedSyncLog/,
      '@storex-sync/sync-orchestrator',
    )
  })
})
