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
