import { defineProject } from 'vitest/config'
import { basename, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

// Tests run against package sources (the `source` export condition), so no
// build is needed before `pnpm test`.
export function packageProject(configUrl: string, overrides: { testTimeout?: number; include?: string[] } = {}) {
  const dir = dirname(fileURLToPath(configUrl))
  return defineProject({
    resolve: { conditions: ['source', 'module', 'node', 'default'] },
    ssr: { resolve: { conditions: ['source', 'module', 'node', 'default'] } },
    test: {
      name: basename(dir),
      root: dir,
      include: overrides.include ?? ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 30_000,
      hookTimeout: 60_000,
    },
  })
}
