import { Mutex, isWriteOperation } from '@storex-sync/storex-glue'

const QUEUE = Symbol.for('@storex-sync/client-sync-log/write-queue')

/**
 * One queue for every write of a storage manager: the app's writes (synced
 * collections or not), the logging middleware's, and doSync's own batches.
 * SQLite connections cannot overlap transactions ("cannot start a transaction
 * within a transaction"), and the log's clock must be read and written with
 * nothing in between.
 */
export interface WriteQueue {
  /**
   * Runs `work` holding the queue. A batch passed through `admit` inside it
   * reaches the backend without waiting for the queue (which `work` holds).
   */
  run<T>(work: (admit: <B extends object>(batch: B) => B) => Promise<T>): Promise<T>
}

interface BackendLike {
  operation(name: string, ...args: unknown[]): Promise<unknown>
}

/**
 * The write queue of this storage manager, installed on first use: the
 * manager's backend is replaced by a proxy whose `operation` queues writes.
 * Storex calls `storageManager.backend.operation` below every middleware, so
 * nothing that writes through the manager (or its backend property) passes
 * the queue; the backend's own internal calls run on the real backend and
 * are not queued twice.
 */
export function installWriteQueue(storageManager: { backend: unknown }): WriteQueue {
  const current = storageManager.backend as BackendLike & { [QUEUE]?: WriteQueue }
  if (!current || typeof current.operation !== 'function') {
    // A manager without a working backend (e.g. one built only to read a module's config) writes nothing.
    const mutex = new Mutex()
    return { run: (work) => mutex.run(() => work((batch) => batch)) }
  }
  const installed = current[QUEUE]
  if (installed) {
    return installed
  }
  const backend = current
  const mutex = new Mutex()
  const admitted = new WeakSet<object>()
  const queue: WriteQueue = {
    run: (work) =>
      mutex.run(() =>
        work((batch) => {
          admitted.add(batch)
          return batch
        }),
      ),
  }
  const operation = (name: string, ...args: unknown[]) => {
    if (!isWriteOperation(name)) {
      return backend.operation(name, ...args)
    }
    const batch = args[0]
    if (name === 'executeBatch' && typeof batch === 'object' && batch !== null && admitted.has(batch)) {
      admitted.delete(batch)
      return backend.operation(name, ...args)
    }
    return mutex.run(() => backend.operation(name, ...args))
  }
  storageManager.backend = new Proxy(backend, {
    get(target, property) {
      if (property === 'operation') return operation
      if (property === QUEUE) return queue
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
    set(target, property, value) {
      return Reflect.set(target, property, value, target)
    },
  })
  return queue
}
