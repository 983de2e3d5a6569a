import { describe, expect, it } from 'vitest'
import { findPostgresUrl } from '@storex-sync/test-backends'
import { runShopCatalogues } from '../src/catalogue'

const expected = [
  { id: expect.any(String), sku: 'K-100', name: 'Kettle', priceCents: 2499, stock: 12 },
  // East's edit (10:11) came after north's (10:10); the radio's delete won over east's later stock edit.
  { id: expect.any(String), sku: 'T-200', name: 'Toaster', priceCents: 3499, stock: 5 },
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

  it('runs with the shops on PostgreSQL when a server answers', async (context) => {
    const found = await findPostgresUrl()
    if ('skipReason' in found) {
      console.log(`skipped: ${found.skipReason}`)
      context.skip()
      return
    }
    const lines: string[] = []
    const report = await runShopCatalogues({ postgresUrl: found.url, print: (line) => lines.push(line) })
    expect(lines.join('\n')).toContain('PostgreSQL database storex_sync_shop_north_')
    expect(report.ok).toBe(true)
    expect(report.products).toEqual(expected)
  })
})
