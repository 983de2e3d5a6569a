import { packageProject } from '../vitest.shared'

export default packageProject(import.meta.url, { testTimeout: 60_000 })
