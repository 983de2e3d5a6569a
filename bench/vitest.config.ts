import { packageProject } from '../vitest.shared.ts'

export default packageProject(import.meta.url, { testTimeout: 60_000 })
