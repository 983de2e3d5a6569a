import { afterEach, describe, expect, it } from 'vitest'
import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import { ClientSyncLogStorage, type ClientSyncLogEntry } from '@storex-sync/client-sync-log'
import { clientBackends, type TestStorage } from '@storex-sync/test-backends'

const collections = {
  note: { version: new Date('2024-01-01'), fields: { title: { type: 'string' as const } } },
  tag: { version: new Date('2024-01-01'), fields: { name: { type: 'string' as const } } },
}

function entry(overrides: Partial<ClientSyncLogEntry>): ClientSyncLogEntry {
  return { deviceId: 'me', createdOn: 1, sharedOn: null, needsIntegration: false, operation: 'modify', collection: 'note', pk: 'n1', value: { title: 'x' }, ...overrides } as ClientSyncLogEntry
}

describe.each(clientBackends)('getObjectSyncStates on $kind', ({ create }) => {
  let storage: TestStorage | null = null
  afterEach(async () => {
    await storage?.cleanup()
    storage = null
  })

  it('tells per object what is unsent, set aside and not applied yet, in a stable order; synced objects are absent', async () => {
    let clientSyncLog!: ClientSyncLogStorage
    storage = await create({
      setup: (storageManager) => {
        storageManager.registry.registerCollections(collections)
        clientSyncLog = new ClientSyncLogStorage({ storageManager })
        registerModuleMapCollections(storageManager.registry, { clientSyncLog })
      },
    })
    await clientSyncLog.insertEntries([
      entry({ createdOn: 1, pk: 'n2' }),
      entry({ createdOn: 2, pk: 'n2' }),
      entry({ createdOn: 3, pk: 'n1', sharedOn: 5 }),
      entry({ createdOn: 4, pk: 'n3' }),
      entry({ createdOn: 5, collection: 'tag', pk: 't1', value: { name: 'a' } }),
    ])
    await clientSyncLog.markAsShared([entry({ createdOn: 3, pk: 'n1' })], { sharedOn: 5 })
    await clientSyncLog.insertReceivedEntries([{ ...entry({ deviceId: 'other', createdOn: 10, pk: 'n1' }) }], { now: 20 })
    await clientSyncLog.quarantineOutgoingEntries([{ entry: entry({ createdOn: 4, pk: 'n3' }), reason: 'TOO_LARGE', message: 'too large' }], { now: 20 })

    expect(await clientSyncLog.getObjectSyncStates()).toEqual([
      { collection: 'note', pk: 'n1', unsent: 0, setAside: 0, unapplied: 1 },
      { collection: 'note', pk: 'n2', unsent: 2, setAside: 0, unapplied: 0 },
      { collection: 'note', pk: 'n3', unsent: 0, setAside: 1, unapplied: 0 },
      { collection: 'tag', pk: 't1', unsent: 1, setAside: 0, unapplied: 0 },
    ])
    expect((await clientSyncLog.getObjectSyncStates({ collection: 'tag' })).map((state) => state.pk)).toEqual(['t1'])

    const unsent = (await clientSyncLog.getUnsharedEntries()).filter((item) => item.collection === 'note')
    await clientSyncLog.markAsShared(unsent, { sharedOn: 30 })
    expect((await clientSyncLog.getObjectSyncStates({ collection: 'note' })).map((state) => state.pk)).toEqual(['n1', 'n3'])
  })
})
