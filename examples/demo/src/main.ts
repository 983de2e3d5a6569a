import { runDemo } from './demo'

const report = await runDemo()
process.exit(report.ok ? 0 : 1)
