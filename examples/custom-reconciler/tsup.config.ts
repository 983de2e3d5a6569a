import shared from '../../tsup.shared'
import { defineConfig } from 'tsup'

// Only the reconcilers: src/main.ts is the demo.
export default defineConfig({ ...shared, entry: ['src/index.ts'] })
