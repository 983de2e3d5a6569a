import shared from '../../tsup.shared'
import { defineConfig } from 'tsup'

export default defineConfig([
  { ...shared, entry: ['src/index.ts', 'src/server.ts'] },
  // The command: ESM only, no types; the `#!/usr/bin/env node` line of src/cli.ts is kept.
  { ...shared, entry: ['src/cli.ts'], format: ['esm'], dts: false, clean: false },
])
