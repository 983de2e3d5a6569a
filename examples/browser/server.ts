import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'
import { createSyncServer, staticTokenAuthenticator } from '@storex-sync/sync-server'

const root = dirname(fileURLToPath(import.meta.url))

/**
 * Starts the sync server (shared log in SQLite, routes under /sync) and the
 * Vite dev server for the app, which forwards /sync to it, so the app talks to
 * its own origin. Both listen on 127.0.0.1.
 */
export async function startBrowserExample(options: { port?: number; database?: string; userId?: string } = {}) {
  const userId = options.userId ?? 'demo-user'
  const token = randomBytes(16).toString('hex')
  const sync = await createSyncServer({
    database: options.database ?? ':memory:',
    prefix: '/sync',
    authenticate: staticTokenAuthenticator({ [token]: userId }),
    // The cloud as a device: the server keeps each user's current data, so a new device (a new
    // browser) starts from it instead of replaying every change ever made.
    replica: true,
  })
  await sync.listen({ host: '127.0.0.1', port: 0 })
  const syncUrl = `http://127.0.0.1:${(sync.server.address() as AddressInfo).port}`

  const vite = await createServer({
    configFile: false,
    root,
    logLevel: 'warn',
    clearScreen: false,
    resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
    // Some CommonJS dependencies of Storex refer to Node's `global`.
    define: { __SYNC_CONFIG__: JSON.stringify({ url: '/sync', token, userId }), global: 'globalThis' },
    optimizeDeps: {
      // Pre-bundled up front, so the first page load does not trigger a reload.
      entries: ['index.html'],
      include: [
        '@worldbrain/storex',
        '@worldbrain/storex/lib/types/backend.js',
        '@worldbrain/storex/lib/types/relationships.js',
        '@worldbrain/storex/lib/utils.js',
        '@worldbrain/storex-pattern-modules',
        // Dexie is a dependency of the backend, not of this app (pnpm keeps them apart).
        '@storex-sync/storex-backend-dexie > dexie',
      ],
      rolldownOptions: { transform: { define: { global: 'globalThis' } } },
    },
    server: {
      host: '127.0.0.1',
      port: options.port ?? 0,
      strictPort: options.port !== undefined && options.port !== 0,
      proxy: { '/sync': { target: syncUrl } },
      hmr: false,
    },
  })
  await vite.listen()
  const address = vite.httpServer!.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}/`,
    syncUrl,
    token,
    userId,
    async close() {
      await vite.close()
      await sync.close()
    },
  }
}
