import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import type { CreateTestStorageOptions, TestStorage } from '@storex-sync/test-backends'
import { ClientSyncLogStorage, type ClientSyncLogEntry } from '../src'

export interface LogSetup {
  storage: TestStorage
  clientSyncLog: ClientSyncLogStorage
}

/** A synced collection with every storex field type a value can carry. */
export function registerUserCollection(storageManager: TestStorage['storageManager']) {
  storageManager.registry.registerCollections({
    user: {
      version: new Date('2024-01-01'),
      fields: {
        id: { type: 'string' },
        displayName: { type: 'string' },
        age: { type: 'int', optional: true },
        score: { type: 'float', optional: true },
        active: { type: 'boolean', optional: true },
        birthday: { type: 'datetime', optional: true },
        meta: { type: 'json', optional: true },
        note: { type: 'text', optional: true },
      },
      indices: [{ field: 'id', pk: true }],
    },
  })
}

export async function setupLog(
  create: (options: CreateTestStorageOptions) => Promise<TestStorage>,
): Promise<LogSetup> {
  let clientSyncLog!: ClientSyncLogStorage
  const storage = await create({
    setup(storageManager) {
      registerUserCollection(storageManager)
      clientSyncLog = new ClientSyncLogStorage({ storageManager })
      registerModuleMapCollections(storageManager.registry, { clientSyncLog })
    },
  })
  return { storage, clientSyncLog }
}

export function entry(overrides: Partial<ClientSyncLogEntry> & Pick<ClientSyncLogEntry, 'createdOn'>): ClientSyncLogEntry {
  const result = {
    deviceId: 'device-one',
    sharedOn: null,
    needsIntegration: false,
    collection: 'user',
    pk: 'u1',
    operation: 'create',
    value: { displayName: 'Joe' },
    ...overrides,
  } as ClientSyncLogEntry & { value?: unknown }
  if (result.operation === 'delete') {
    delete result.value
  }
  return result
}
