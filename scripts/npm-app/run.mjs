#!/usr/bin/env node
// Packs the tarballs a device needs (pnpm pack, which turns workspace:^ into
// versions), and the example package examples/custom-reconciler, installs them
// with plain `npm install` (no --legacy-peer-deps) into a fresh npm app in a
// temp directory outside the repository, and runs app.mjs there: devices on
// SQLite and IndexedDB sync and must converge, and the example's reconciler runs.
//
//   pnpm test:npm-app            (builds first; about 2-4 minutes, most of it compiling better-sqlite3)
//   node scripts/npm-app/run.mjs --no-build --keep
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const args = new Set(process.argv.slice(2))
const packages = [
  'errors',
  'storex-glue',
  'replica',
  'device',
  'custom-pk',
  'client-sync-log',
  'logging-middleware',
  'reconciliation',
  'sync-orchestrator',
  'shared-sync-log-core',
  'shared-sync-log-storex',
  'storex-backend-sql',
  'storex-backend-dexie',
]
// Examples that build into packages an app installs.
const examples = ['custom-reconciler']
const run = (command, commandArgs, cwd) => {
  console.log(`$ ${command} ${commandArgs.join(' ')}   (in ${cwd})`)
  execFileSync(command, commandArgs, { cwd, stdio: 'inherit', env: { ...process.env, npm_config_legacy_peer_deps: 'false' } })
}

if (!args.has('--no-build')) {
  run('pnpm', ['build'], root)
  for (const name of examples) run('pnpm', ['run', 'build'], join(root, 'examples', name))
}
const app = mkdtempSync(join(tmpdir(), 'storex-sync-npm-app-'))
const tarballs = join(app, 'tarballs')
try {
  const dependencies = {}
  for (const name of packages) {
    run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', name))
  }
  for (const name of examples) {
    run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'examples', name))
  }
  for (const file of readdirSync(tarballs)) {
    const match = /^storex-sync-(.+)-\d+\.\d+\.\d+.*\.tgz$/.exec(file)
    if (match) dependencies[`@storex-sync/${match[1]}`] = `file:./tarballs/${file}`
  }
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'storex-sync-npm-app',
        private: true,
        type: 'module',
        dependencies: {
          ...dependencies,
          '@worldbrain/storex': '0.4.1',
          '@worldbrain/storex-pattern-modules': '0.4.0',
          'better-sqlite3': '^12.11.1',
          'fake-indexeddb': '^6.2.8',
        },
      },
      null,
      2,
    ),
  )
  copyFileSync(join(here, 'app.mjs'), join(app, 'app.mjs'))
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app)
  run('node', ['app.mjs'], app)
  console.log(`npm app test passed (${app})`)
} finally {
  if (!args.has('--keep')) rmSync(app, { recursive: true, force: true })
}
