import shared from '../../tsup.shared'
import { defineConfig } from 'tsup'

// src/cli.ts is the `storex-sync-server` bin; its `#!/usr/bin/env node` line is kept in dist/cli.js.
export default defineConfig({
  ...shared,
  entry: ['src/index.ts', 'src/cli.ts'],
  dts: { entry: ['src/index.ts'] },
})
