export { deleteLosesToLaterEdit } from './reconciler'
