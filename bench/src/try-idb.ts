import { nodeIdbEnvironment } from '/work/wt/idb/bench/src/idb-node'
import { runIdbE2e } from '/work/wt/idb/bench/src/idb-sync'
const n = Number(process.argv[2] ?? 1000)
const r = await runIdbE2e(nodeIdbEnvironment((process.argv[3] ?? 'legacy') as any), { n, log: console.log })
console.log(JSON.stringify(r, null, 1))
