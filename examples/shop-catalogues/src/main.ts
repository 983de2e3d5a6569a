import { runShopCatalogues } from './catalogue'

// `pnpm demo -- --postgres postgres://user@127.0.0.1:5432/postgres --mysql mysql://root@127.0.0.1:3306/test`
// (or SHOPS_POSTGRES_URL / SHOPS_MYSQL_URL) puts the south shop on that PostgreSQL server and the east shop
// on that MariaDB/MySQL server; the north shop (and any shop without a server) uses SQLite.
const argument = (flag: string) => {
  const index = process.argv.indexOf(flag)
  return index >= 0 ? process.argv[index + 1] : undefined
}
const postgresUrl = argument('--postgres') ?? process.env['SHOPS_POSTGRES_URL']
const mysqlUrl = argument('--mysql') ?? process.env['SHOPS_MYSQL_URL']

console.log('== Example 2: three shops sharing a catalogue (examples/shop-catalogues)\n')
const report = await runShopCatalogues({ postgresUrl, mysqlUrl })
process.exitCode = report.ok ? 0 : 1
