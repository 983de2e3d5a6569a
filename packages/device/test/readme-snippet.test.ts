import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const readme = readFileSync(join(here, '..', '..', '..', 'README.md'), 'utf8')
// Inside this package, so its dependencies resolve as an app's would.
const scratch = join(here, '.readme-snippet')

/** The first ```ts block after a heading of the root README. */
function snippetAfter(heading: string): string {
  const section = readme.slice(readme.indexOf(heading))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (!match) throw new Error(`no ts block after "${heading}" in README.md`)
  return match[1]!
}

function compile(source: string, resolution: 'NodeNext' | 'Node10' = 'NodeNext'): string[] {
  mkdirSync(scratch, { recursive: true })
  const file = join(scratch, 'snippet.ts')
  // What the snippet takes from the app around it.
  writeFileSync(file, `declare const session: { token: string; userId: string }\n${source}\nexport {}\n`)
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    ...(resolution === 'NodeNext'
      ? { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }
      : { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 }),
    // What an app gets: the packages' built types (dist), as published.
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
  })
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file?.fileName === file)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

// The snippet is checked against the published types (dist/*.d.ts), which `pnpm build` makes (.ci/run builds first).
const packagesDir = join(here, '..', '..')
const unbuilt = ['device', 'shared-sync-log-http', 'storex-backend-dexie', 'client-sync-log', 'sync-orchestrator', 'shared-sync-log-core'].filter(
  (name) => !existsSync(join(packagesDir, name, 'dist', 'index.d.ts')),
)
if (unbuilt.length) {
  console.log(`skipped: the README snippet check needs built packages (${unbuilt.join(', ')} have no dist/index.d.ts); run pnpm build first`)
}

describe.skipIf(unbuilt.length > 0)("the root README's device snippet", () => {
  it('type-checks under strict TypeScript with NodeNext resolution', () => {
    expect(compile(snippetAfter('## Setting up a device'))).toEqual([])
  }, 120_000)

  it("resolves the packages' subpath exports (/testing, /implement) under moduleResolution node too", () => {
    const source = [
      "import { runSharedSyncLogTests } from '@storex-sync/shared-sync-log-core/testing'",
      "import { decideCompaction, validateUserId } from '@storex-sync/shared-sync-log-core/implement'",
      'const run: (name: string, setup: () => Promise<never>) => void = runSharedSyncLogTests',
      "validateUserId('alice')",
      'const decision: { compactUntil: number } = decideCompaction([], { compactedUntil: 0, lastSequence: 0, retentionMs: 0, now: 0 })',
      'void run, decision',
    ].join('\n')
    for (const resolution of ['Node10', 'NodeNext'] as const) {
      expect(compile(source.replace(/^/, ''), resolution)).toEqual([])
    }
    expect(compile("import { nothing } from '@storex-sync/shared-sync-log-core/implement'", 'Node10').join('\n')).toMatch(/nothing/)
  }, 120_000)

  it('would report a mistake (the check is real)', () => {
    const broken = snippetAfter('## Setting up a device').replace('userId: session.userId,', 'userId: session.userId, reconciler: 42,')
    expect(compile(broken).join('\n')).toMatch(/not assignable to type 'ReconcilerFunction'/)
  }, 120_000)
})
