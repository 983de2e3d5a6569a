import { startBrowserExample } from './server'

// `pnpm --filter @storex-sync/example-browser dev`: open the printed address in two browsers
// (or a normal and a private window): they are two devices of one user.
const port = Number(process.env['PORT'] ?? 5173)
const example = await startBrowserExample({ port, database: process.env['SYNC_DATABASE'] ?? ':memory:' })
console.log(`App: ${example.url}  (sync server: ${example.syncUrl}, reached through the app's /sync)`)
const stop = () => void example.close().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
