/**
 * The page side of `pnpm bench:browser`: bundled by esbuild and loaded in
 * Chromium, it runs the IndexedDB end-to-end sync and the raw writes against
 * the browser's own IndexedDB.
 */
import { DexieStorageBackend } from '@storex-sync/storex-backend-dexie'
import { DexieStorageBackend as LegacyDexieStorageBackend } from '@worldbrain/storex-backend-dexie'
import { runIdbE2e, type IdbE2eResult } from './idb-sync'

async function runBrowserBench(options: { n: number; backend: 'ours' | 'legacy'; batchSize?: number }): Promise<IdbE2eResult> {
  const lines: string[] = []
  const env = {
    indexedDB,
    IDBKeyRange,
    backendName: options.backend === 'ours' ? '@storex-sync/storex-backend-dexie' : '@worldbrain/storex-backend-dexie 0.3.1',
    createBackend: (dbName: string) =>
      options.backend === 'ours'
        ? new DexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: IDBKeyRange } })
        : new LegacyDexieStorageBackend({ dbName, idbImplementation: { factory: indexedDB, range: IDBKeyRange as any } }),
  }
  const result = await runIdbE2e(env, { n: options.n, batchSize: options.batchSize ?? 1000, log: (line) => lines.push(line) })
  console.log(lines.join('\n'))
  return result
}

;(globalThis as any).runBrowserBench = runBrowserBench
document.body.dataset['ready'] = 'true'
