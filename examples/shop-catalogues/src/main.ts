import { runShopCatalogues } from './catalogue'

// `pnpm demo -- --postgres postgres://user@127.0.0.1:5432/postgres` (or SHOPS_POSTGRES_URL) puts each shop's
// database on that PostgreSQL server; the default is SQLite.
const flag = process.argv.indexOf('--postgres')
const postgresUrl = flag >= 0 ? process.argv[flag + 1] : process.env['SHOPS_POSTGRES_URL']

console.log('== Example 2: three shops sharing a catalogue (examples/shop-catalogues)\n')
const report = await runShopCatalogues({ postgresUrl })
process.exitCode = report.ok ? 0 : 1
