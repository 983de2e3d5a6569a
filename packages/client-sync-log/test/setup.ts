import { registerModuleMapCollections } from '@worldbrain/storex-pattern-modules'
import type { CreateTestStorageOptions, TestStorage } from '@storex-sync/test-backends'
import { ClientSyncLogStorage, type ClientSyncLogEntry } from '../src'

export interface LogSetup {
  storage: TestStorage
  clientSyncLog: ClientSyncLogStorage
}

/** A synced collection (its datetime field is revived on read; booleans are left out: TypeORM cannot create them on PostgreSQL). */
export function registerUserCollection(storageManager: TestStorage['storageManager'], options: { datetime?: boolean } = {}) {
  storageManager.registry.registerCollections({
    user: {
      version: new Date('2024-01-01'),
      fields: {
        id: { type: 'string' },
        displayName: { type: 'string' },
        age: { type: 'int', optional: true },
        score: { type: 'float', optional: true },
        ...(options.datetime === false ? {} : { birthday: { type: 'datetime' as const, optional: true } }),
        meta: { type: 'json', optional: true },
        note: { type: 'text', optional: true },
      },
      indices: [{ field: 'id', pk: true }],
    },
  })
}

export async function setupLog(
  create: (options: CreateTestStorageOptions) => Promise<TestStorage>,
  options: { datetime?: boolean } = {},
): Promise<LogSetup> {
  let clientSyncLog!: ClientSyncLogStorage
  const storage = await create({
    setup(storageManager) {
      registerUserCollection(storageManager, options)
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
