import shared from '../../tsup.shared'
import { defineConfig } from 'tsup'

export default defineConfig({ ...shared, entry: ["src/index.ts"] })
