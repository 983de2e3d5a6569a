import { Mutex } from './mutex'

interface LockManager {
  request<T>(name: string, options: { mode: 'exclusive' }, work: () => Promise<T>): Promise<T>
}

const REGISTRY = Symbol.for('@storex-sync/client-sync-log/database-locks')

function inProcessLocks(): Map<string, Mutex> {
  const holder = globalThis as { [REGISTRY]?: Map<string, Mutex> }
  holder[REGISTRY] ??= new Map()
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
  const registry = inProcessLocks()
  let mutex = registry.get(name)
  if (!mutex) {
    mutex = new Mutex()
    registry.set(name, mutex)
  }
  return mutex.run(work)
}
