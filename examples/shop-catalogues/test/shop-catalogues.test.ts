import { describe, expect, it } from 'vitest'
import { findMysqlUrl, findPostgresUrl } from '@storex-sync/test-backends'
import { runShopCatalogues } from '../src/catalogue'

const expected = [
  { id: expect.any(String), sku: 'K-100', name: 'Kettle', priceCents: 2499, stock: 12, onSale: true, priceChangedAt: new Date(Date.UTC(2024, 4, 4, 10, 5)) },
  // East's edit (10:11) came after north's (10:10); the radio's delete won over east's later stock edit.
  { id: expect.any(String), sku: 'T-200', name: 'Toaster', priceCents: 3499, stock: 5, onSale: true, priceChangedAt: new Date(Date.UTC(2024, 4, 4, 10, 11)) },
]

describe('examples/shop-catalogues', () => {
  it('ends with the three SQLite shops holding the same catalogue', async () => {
    const lines: string[] = []
    const report = await runShopCatalogues({ print: (line) => lines.push(line) })
    expect(report.ok).toBe(true)
    expect(report.products).toEqual(expected)
    const output = lines.join('\n')
    expect(output).toContain('K-100: north 24.99 EUR, south 24.99 EUR, east 24.99 EUR')
    expect(output).toContain('R-300: north deleted, south deleted, east deleted')
    expect(output).toContain('All 3 shop databases are equal.')
  })

  it('converges with the shops on SQLite, PostgreSQL and MariaDB at once when the servers answer', async (context) => {
    const postgres = await findPostgresUrl()
    const mysql = await findMysqlUrl()
    for (const found of [postgres, mysql]) {
      if ('skipReason' in found) {
        console.log(`skipped: ${found.skipReason}`)
        context.skip()
        return
      }
    }
    const lines: string[] = []
    const report = await runShopCatalogues({
      postgresUrl: (postgres as { url: string }).url,
      mysqlUrl: (mysql as { url: string }).url,
      print: (line) => lines.push(line),
    })
    const output = lines.join('\n')
    expect(output).toContain('north: SQLite (in memory)')
    expect(output).toContain('south: PostgreSQL database storex_sync_shop_south_')
    expect(output).toContain('east: MariaDB/MySQL database storex_sync_shop_east_')
    expect(report.ok).toBe(true)
    expect(report.products).toEqual(expected)
  })
})
