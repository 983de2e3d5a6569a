import { runShopCatalogues } from '@storex-sync/example-shop-catalogues'
import { deleteLosesToLaterEdit } from './reconciler'

// The same three shops as examples/shop-catalogues; only the reconciler differs.
const report = await runShopCatalogues({
  reconciler: deleteLosesToLaterEdit,
  reconcilerName: 'deleteLosesToLaterEdit (examples/custom-reconciler)',
})
process.exitCode = report.ok ? 0 : 1
