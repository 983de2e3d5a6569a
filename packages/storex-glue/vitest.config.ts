import { packageProject } from '../../vitest.shared'

export default packageProject(import.meta.url)
