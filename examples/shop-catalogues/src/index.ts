export { runShopCatalogues, catalogueCollections } from './catalogue'
export type { ShopCataloguesOptions, ShopCataloguesReport } from './catalogue'
export { createShop, startSyncServer } from './setup'
export type { Shop, ShopDatabase } from './setup'
