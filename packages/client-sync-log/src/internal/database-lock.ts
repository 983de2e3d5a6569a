import { KeyedMutex } from '@storex-sync/storex-glue'

interface LockManager {
  request<T>(name: string, options: { mode: 'exclusive' }, work: () => Promise<T>): Promise<T>
}

const REGISTRY = Symbol.for('@storex-sync/client-sync-log/database-lock-queue')

// On globalThis so that two copies of this package in one realm share the locks.
function inProcessLocks(): Pick<KeyedMutex, 'run'> {
  const holder = globalThis as { [REGISTRY]?: Pick<KeyedMutex, 'run'> }
  holder[REGISTRY] ??= new KeyedMutex()
  return holder[REGISTRY]
}

/**
 * Runs `work` while holding the lock `name`, shared by every StorageManager
 * over one database: across browser tabs and workers through Web Locks
 * (`navigator.locks`), and, where they are missing (Node, old browsers),
 * across the instances of this JavaScript realm.
 */
export function withDatabaseLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (locks && typeof locks.request === 'function') {
    return locks.request(name, { mode: 'exclusive' }, work)
  }
  return inProcessLocks().run(name, work)
}

/** The backend's own database name (the IndexedDB backends have one), or null. */
export function databaseNameOf(backend: unknown): string | null {
  const named = backend as { dbName?: unknown; databaseName?: unknown } | undefined
  return typeof named?.dbName === 'string' ? named.dbName : typeof named?.databaseName === 'string' ? named.databaseName : null
}

let instanceCounter = 0

/** The prefix of lock and channel names: shared over a named database, this instance's own otherwise. */
export function lockPrefixFor(databaseName: string | null): string {
  return databaseName !== null ? `storex-sync:${databaseName}` : `storex-sync:instance-${++instanceCounter}-${Math.random().toString(36).slice(2)}`
}
