export { deleteLosesToLaterEdit } from './reconciler'
export { lowestPriceWins } from './lowest-price'
