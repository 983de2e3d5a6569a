import { runDevicesExample } from './devices'

console.log('== Example 1: three devices of one user (examples/devices)\n')
const report = await runDevicesExample()
process.exitCode = report.ok ? 0 : 1
