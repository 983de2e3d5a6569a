import { createOriginalDevice, createOurDevice, createRawStorage, makeNote, rawId, type BackendKind, type TestStorage } from './setup'

export type OverheadEngine = 'raw' | 'ours' | 'original'
export type OverheadOperation = 'create' | 'update' | 'delete'

export interface OverheadSample {
  backend: BackendKind
  engine: OverheadEngine
  round: number
  /** Milliseconds per operation. */
  msPerOp: Record<OverheadOperation, number>
}

async function open(engine: OverheadEngine, backend: BackendKind): Promise<TestStorage> {
  if (engine === 'raw') return createRawStorage(backend)
  if (engine === 'ours') return (await createOurDevice({ kind: backend })).storage
  return (await createOriginalDevice({ kind: backend })).storage
}

/**
 * N creates, N single-field updates, N deletes, one Storex operation each, on
 * a fresh database. Raw writes give the id themselves (what custom-pk would);
 * the others go through their pk and logging middleware.
 */
export async function measureOverhead(backend: BackendKind, engine: OverheadEngine, n: number, round: number): Promise<OverheadSample> {
  const storage = await open(engine, backend)
  const { storageManager } = storage
  const ids: string[] = []
  try {
    let started = performance.now()
    for (let index = 0; index < n; index += 1) {
      const note = makeNote(index)
      const { object } = await storageManager.operation('createObject', 'note', engine === 'raw' ? { id: rawId(), ...note } : note)
      ids.push(object.id)
    }
    const create = (performance.now() - started) / n
    started = performance.now()
    for (const [index, id] of ids.entries()) {
      await storageManager.operation('updateObjects', 'note', { id }, { score: 1000 + index })
    }
    const update = (performance.now() - started) / n
    started = performance.now()
    for (const id of ids) {
      await storageManager.operation('deleteObjects', 'note', { id })
    }
    const del = (performance.now() - started) / n
    const left = Number(await storageManager.operation('countObjects', 'note', {}))
    if (left !== 0) throw new Error(`${engine} on ${backend}: ${left} notes left after deleting all`)
    return { backend, engine, round, msPerOp: { create, update, delete: del } }
  } finally {
    await storage.cleanup()
  }
}
