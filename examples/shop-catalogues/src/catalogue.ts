import { isDeepStrictEqual } from 'node:util'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'
import type { SyncResult } from '@storex-sync/sync-orchestrator'
import { createShop, startSyncServer, type Shop } from './setup'

/**
 * The shared catalogue: strings, ints (prices in cents, stock), a boolean
 * (on sale) and a datetime (when the price last changed), stored natively by
 * each database (boolean / timestamptz on PostgreSQL, tinyint(1) / datetime(3)
 * on MariaDB, integer / real on SQLite).
 */
export const catalogueCollections = {
  product: {
    version: new Date('2024-01-01'),
    fields: {
      sku: { type: 'string' as const },
      name: { type: 'string' as const },
      priceCents: { type: 'int' as const },
      stock: { type: 'int' as const },
      onSale: { type: 'boolean' as const },
      priceChangedAt: { type: 'datetime' as const, optional: true },
    },
    indices: [{ field: 'sku' }],
  },
}

export interface ShopCataloguesOptions {
  print?: (line: string) => void
  /** The conflict rules; default reconcileSyncLog (per-field last writer wins, a delete wins). */
  reconciler?: ReconcilerFunction
  /** Name printed for the reconciler. */
  reconcilerName?: string
  /** A PostgreSQL server URL: the south shop then gets a database of its own there (dropped at the end). */
  postgresUrl?: string
  /** A MariaDB/MySQL server URL: the east shop then gets a database of its own there (dropped at the end). */
  mysqlUrl?: string
}

export interface ShopCataloguesReport {
  ok: boolean
  shops: string[]
  products: Array<Record<string, unknown>>
}

const euros = (cents: unknown) => `${(Number(cents) / 100).toFixed(2)} EUR`

function describeSync(name: string, result: SyncResult): string {
  const { received, sent, integrated } = result
  return `${name.padEnd(6)} synced: sent ${sent.entries}, received ${received.entries}, applied ${integrated.entries} entries to ${integrated.objects} products`
}

/**
 * Three shops (north, south, east), each with its own SQL database, share a
 * catalogue through the sync server over HTTP: new products, price changes,
 * concurrent price edits, and a product deleted in one shop while another
 * edits it.
 */
export async function runShopCatalogues(options: ShopCataloguesOptions = {}): Promise<ShopCataloguesReport> {
  const print = options.print ?? console.log
  const reconciler = options.reconciler ?? reconcileSyncLog
  const server = await startSyncServer(['acme-catalogue'])
  const clock = { now: Date.UTC(2024, 4, 4, 10, 0) }
  const time = () => new Date(clock.now).toISOString().slice(11, 16)
  const later = (minutes: number) => (clock.now += minutes * 60_000)
  const shops: Shop[] = []
  try {
    for (const name of ['north', 'south', 'east']) {
      shops.push(
        await createShop({
          name,
          database:
            name === 'south' && options.postgresUrl
              ? { kind: 'postgres', serverUrl: options.postgresUrl }
              : name === 'east' && options.mysqlUrl
                ? { kind: 'mysql', serverUrl: options.mysqlUrl }
                : { kind: 'sqlite', file: ':memory:' },
          collections: catalogueCollections,
          syncedCollections: ['product'],
          server,
          userId: 'acme-catalogue',
          reconciler,
          getNow: () => clock.now,
        }),
      )
    }
    const [north, south, east] = shops as [Shop, Shop, Shop]
    print(`Sync server on ${server.url} (shared log in SQLite). Conflict rules: ${options.reconcilerName ?? 'reconcileSyncLog (default)'}.`)
    for (const shop of shops) print(`  ${shop.name}: ${shop.description}`)

    const products = (shop: Shop) => shop.storageManager.collection('product')
    const sync = async (shop: Shop) => print(`  ${describeSync(shop.name, await shop.sync())}`)
    const step = (text: string) => print(`\n[${time()}] ${text}`)
    const priceEverywhere = async (sku: string) => {
      const parts: string[] = []
      for (const shop of shops) {
        const product = (await products(shop).findObject({ sku })) as { priceCents: number } | null
        parts.push(`${shop.name} ${product ? euros(product.priceCents) : 'deleted'}`)
      }
      print(`  ${sku}: ${parts.join(', ')}`)
    }

    step('North adds three products and syncs; south and east sync and get them.')
    const { object: kettle } = await products(north).createObject({ sku: 'K-100', name: 'Kettle', priceCents: 2999, stock: 12, onSale: false })
    const { object: toaster } = await products(north).createObject({ sku: 'T-200', name: 'Toaster', priceCents: 3999, stock: 5, onSale: false })
    const { object: radio } = await products(north).createObject({ sku: 'R-300', name: 'Radio', priceCents: 2499, stock: 3, onSale: true })
    for (const shop of [north, south, east]) await sync(shop)

    later(5)
    step('South puts the kettle on sale at 24.99 and syncs; the other shops sync and have the new price.')
    await products(south).updateObjects({ id: kettle.id }, { priceCents: 2499, onSale: true, priceChangedAt: new Date(clock.now) })
    for (const shop of [south, north, east]) await sync(shop)
    await priceEverywhere('K-100')

    later(5)
    step('Offline, north raises the toaster to 44.99 (10:10) and east lowers it to 34.99 (10:11).')
    await products(north).updateObjects({ id: toaster.id }, { priceCents: 4499, priceChangedAt: new Date(clock.now) })
    later(1)
    await products(east).updateObjects({ id: toaster.id }, { priceCents: 3499, onSale: true, priceChangedAt: new Date(clock.now) })
    later(4)
    step('North deletes the radio (10:15) while east, still offline, counts 7 in stock (10:16).')
    await products(north).deleteObjects({ id: radio.id })
    later(1)
    await products(east).updateObjects({ id: radio.id }, { stock: 7 })

    later(4)
    step('Everyone syncs (north and south twice, to get what came after them).')
    for (const shop of [north, south, east, north, south]) await sync(shop)
    await priceEverywhere('T-200')
    await priceEverywhere('R-300')

    step('Catalogue in each shop:')
    const contents = await Promise.all(shops.map((shop) => shop.contents()))
    const equal = contents.every((other) => isDeepStrictEqual(other, contents[0]))
    // The catalogue as a shop shows it: by SKU.
    const catalogue = [...contents[0]!['product']!].sort((a, b) => String(a['sku']).localeCompare(String(b['sku'])))
    for (const product of catalogue) {
      const changed = product['priceChangedAt'] instanceof Date ? `  price set ${product['priceChangedAt'].toISOString().slice(11, 16)}` : ''
      print(
        `  ${String(product['sku']).padEnd(6)} ${String(product['name']).padEnd(8)} ${euros(product['priceCents']).padStart(10)}  stock ${product['stock']}${product['onSale'] ? '  on sale' : ''}${changed}`,
      )
    }
    print(equal ? `\nAll ${shops.length} shop databases are equal.` : '\nThe shop databases differ: this is a bug, please report it.')
    if (!equal) shops.forEach((shop, index) => print(`  ${shop.name}: ${JSON.stringify(contents[index])}`))
    return { ok: equal, shops: shops.map((shop) => shop.name), products: catalogue }
  } finally {
    for (const shop of shops) await shop.close()
    await server.close()
  }
}
